// What decides the selected filesystem and what uses it: a few lines under the
// list, or the whole screen after Enter.

import type { ReactNode } from "react";
import { Box, Text } from "ink";
import { Line } from "./Line.tsx";
import { equivalentCommands, type PendingAction, type ReviewFilesystem } from "./review-state.ts";
import { PENDING_LOOK, STATE_LABEL, STATE_LOOK, STATE_MEANING, tint } from "./state-style.ts";
import { oneLine } from "./text.ts";

export interface DetailsPaneProps {
  fs: ReviewFilesystem | null;
  kernel: string | null;
  pending: PendingAction | undefined;
  width: number;
  height: number;
  expanded: boolean;
  colour: boolean;
}

const LABEL_WIDTH = 9;

function Field({ label, children, wrap, colour }: { label: string; children: ReactNode; wrap: boolean; colour: boolean }) {
  return (
    // Like Line, a field never shrinks.
    <Box flexDirection="row" flexShrink={0}>
      <Box width={LABEL_WIDTH} flexShrink={0}>
        <Text bold={colour}>{label}</Text>
      </Box>
      <Box flexGrow={1} flexShrink={1}>
        <Text wrap={wrap ? "wrap" : "truncate-end"}>{children}</Text>
      </Box>
    </Box>
  );
}

function moduleLine(fs: ReviewFilesystem, kernel: string | null): string {
  if (fs.module === null) return "no module known for this kernel";
  const where = kernel === null ? "no running kernel under this root" : `${fs.present ? "present" : "not present"} for ${kernel}`;
  return `${fs.module}, ${where}`;
}

function usedByLine(fs: ReviewFilesystem): string[] {
  if (fs.usedBy.length > 0) return fs.usedBy.map(oneLine);
  return ["nothing here (not loaded, not mounted, not in fstab)"];
}

export function DetailsPane({ fs, kernel, pending, width, height, expanded, colour }: DetailsPaneProps) {
  if (fs === null) {
    return (
      <Box width={width} height={height}>
        <Text wrap="truncate-end">{"  (nothing selected)"}</Text>
      </Box>
    );
  }
  const look = STATE_LOOK[fs.state];
  const decided = fs.decidedBy === null ? "" : ` by ${oneLine(fs.decidedBy)}`;
  const change = pending === undefined ? "" : `   ${PENDING_LOOK[pending]} (pending)`;
  const references = fs.references.length > 0 ? fs.references.map(oneLine) : ["none"];
  const title = `─ ${fs.name} `;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Line dimColor={colour}>{title + "─".repeat(Math.max(0, width - title.length))}</Line>
      <Field label="State" wrap={expanded} colour={colour}>
        <Text {...tint(colour, look.colour)}>{`${look.symbol} ${STATE_LABEL[fs.state]}`}</Text>
        {decided}
        <Text {...tint(colour, "yellow")}>{change}</Text>
      </Field>
      {expanded && (
        <Field label="Why" wrap colour={colour}>
          {`${oneLine(fs.why)} (${STATE_MEANING[fs.state]})`}
        </Field>
      )}
      <Field label="Module" wrap={expanded} colour={colour}>
        {`${moduleLine(fs, kernel)} · kernels: ${fs.kernels ?? "all"}${expanded ? ` · types: ${fs.types.join(", ")}` : ""}`}
      </Field>
      <Field label="Reason" wrap={expanded} colour={colour}>
        {oneLine(fs.reason ?? (fs.inPolicy ? "none given" : "not in the shipped policy"))}
      </Field>
      <Field label="Refs" wrap={expanded} colour={colour}>
        {references.join(", ")}
      </Field>
      <Field label="Used by" wrap={expanded} colour={colour}>
        {usedByLine(fs).join("; ")}
      </Field>
      {expanded && fs.state !== "builtin" && fs.state !== "unavailable" && (
        <Field label="Commands" wrap colour={colour}>
          {[...equivalentCommands([{ name: fs.name, action: fs.state === "blocked" || fs.state === "pinned" ? "allow" : "block" }]), `fsblacklist explain --type ${fs.name}`].join("   ")}
        </Field>
      )}
    </Box>
  );
}
