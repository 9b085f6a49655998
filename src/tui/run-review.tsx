// Runs the review UI on the terminal until the user quits. It takes the whole
// screen (the alternate buffer, as less and vim do) and gives the shell its
// screen back afterwards.

import { render } from "ink";
import { App, type AppProps } from "./App.tsx";

export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const ALTERNATE_SCREEN = "\u001b[?1049h";
const MAIN_SCREEN = "\u001b[?1049l";

export async function runReview(props: AppProps, terminal: Terminal): Promise<void> {
  terminal.stdout.write(ALTERNATE_SCREEN);
  try {
    const instance = render(<App {...props} />, { ...terminal, exitOnCtrlC: true, patchConsole: false });
    await instance.waitUntilExit();
  } finally {
    terminal.stdout.write(MAIN_SCREEN);
  }
}
