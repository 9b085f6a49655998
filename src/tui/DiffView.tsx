// The exact file changes a plan makes, as unified diffs (the same diff as
// `allow --dry-run` prints), scrolled by the keys.

import { Box } from "ink";
import { Line } from "./Line.tsx";
import { clampScroll, planLines, type LineKind } from "./plan-lines.ts";
import type { ReviewPlan } from "./review-state.ts";
import { tint } from "./state-style.ts";
import { printable } from "./text.ts";

export interface DiffViewProps {
  plan: ReviewPlan;
  scroll: number;
  width: number;
  height: number;
  colour: boolean;
}

const TINT: Readonly<Record<LineKind, string | undefined>> = {
  heading: undefined,
  file: undefined,
  hunk: "cyan",
  context: undefined,
  removed: "red",
  added: "green",
  note: "yellow",
  refused: "red",
};

export function DiffView({ plan, scroll, width, height, colour }: DiffViewProps) {
  const lines = planLines(plan);
  const bodyHeight = Math.max(1, height - 1);
  const first = clampScroll(scroll, lines.length, bodyHeight);
  const shown = lines.slice(first, first + bodyHeight);
  const files = plan.files.length === 1 ? "1 file" : `${plan.files.length} files`;
  const position = lines.length > bodyHeight ? ` · lines ${first + 1}-${first + shown.length} of ${lines.length}, ↑↓ scroll` : "";
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Line bold={colour}>{`Changes to write: ${files}${position}`}</Line>
      {shown.map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a line is its place in the diff; the same text recurs
        <Line key={first + i} {...tint(colour, TINT[line.kind])} bold={colour && (line.kind === "heading" || line.kind === "refused")}>
          {line.text === "" ? " " : printable(line.text)}
        </Line>
      ))}
    </Box>
  );
}
