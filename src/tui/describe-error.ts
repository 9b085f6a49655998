// How an error reads in the review's message line and in what the command says
// after it: the message, with the hint in parentheses. React-free, because the
// review's services (bundled with the command table) use it too.

import { FsbError } from "../errors.ts";

export function describeError(error: unknown): string {
  if (error instanceof FsbError) return error.hint ? `${error.message} (${error.hint})` : error.message;
  return error instanceof Error ? error.message : String(error);
}
