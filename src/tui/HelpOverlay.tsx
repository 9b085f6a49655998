// The keys and what the symbols mean; `?` opens it, any key closes it.

import { Box, Text } from "ink";
import { Line } from "./Line.tsx";
import type { FsState } from "../model.ts";
import { KEY_HELP } from "./keys.ts";
import { STATE_LABEL, STATE_LOOK, STATE_MEANING, tint } from "./state-style.ts";
import { pad } from "./text.ts";

const STATES: readonly FsState[] = ["blocked", "pinned", "allowed", "kept", "builtin", "unavailable"];

export function HelpOverlay({ width, height, colour }: { width: number; height: number; colour: boolean }) {
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Line bold={colour}>Keys</Line>
      {KEY_HELP.map(([keys, what]) => (
        <Line key={keys}>{"  " + pad(keys, 16) + what}</Line>
      ))}
      <Line bold={colour}>States</Line>
      {STATES.map((state) => (
        <Line key={state}>
          {"  "}
          <Text {...tint(colour, STATE_LOOK[state].colour)}>{pad(`${STATE_LOOK[state].symbol} ${STATE_LABEL[state]}`, 16)}</Text>
          {STATE_MEANING[state]}
        </Line>
      ))}
      <Line>{"  " + pad("L M F", 16) + "loaded, mounted, in etc/fstab (· = no)"}</Line>
      <Line dimColor={colour}>{"  any key closes this help"}</Line>
    </Box>
  );
}
