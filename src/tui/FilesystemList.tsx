// The list: one line per filesystem, scrolled so the cursor stays visible.

import { Box, Text } from "ink";
import type { PendingAction, ReviewFilesystem } from "./review-state.ts";
import { PENDING_LOOK, STATE_LABEL, STATE_LOOK, tint, usageFlags } from "./state-style.ts";
import { oneLine, pad } from "./text.ts";

const COLUMNS = { mark: 2, name: 12, module: 12, state: 14, use: 7, change: 10 } as const;

export interface FilesystemListProps {
  filesystems: readonly ReviewFilesystem[];
  cursor: number;
  top: number;
  rows: number;
  width: number;
  pending: Readonly<Record<string, PendingAction>>;
  colour: boolean;
}

export function ListHeader({ width, colour }: { width: number; colour: boolean }) {
  const line = pad("", COLUMNS.mark) + pad("NAME", COLUMNS.name) + pad("MODULE", COLUMNS.module) + pad("STATE", COLUMNS.state) + pad("USE", COLUMNS.use) + pad("CHANGE", COLUMNS.change) + "REASON";
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" bold={colour} dimColor={colour}>
        {line}
      </Text>
    </Box>
  );
}

function Row({ fs, selected, pending, width, colour }: { fs: ReviewFilesystem; selected: boolean; pending: PendingAction | undefined; width: number; colour: boolean }) {
  const look = STATE_LOOK[fs.state];
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" inverse={colour && selected}>
        {pad(selected ? "›" : "", COLUMNS.mark)}
        <Text bold={pending !== undefined}>{pad(fs.name, COLUMNS.name)}</Text>
        {pad(fs.module ?? "-", COLUMNS.module)}
        <Text {...tint(colour, look.colour)}>{pad(`${look.symbol} ${STATE_LABEL[fs.state]}`, COLUMNS.state)}</Text>
        {pad(usageFlags(fs), COLUMNS.use)}
        <Text {...tint(colour, "yellow")} bold={colour}>
          {pad(pending === undefined ? "" : PENDING_LOOK[pending], COLUMNS.change)}
        </Text>
        <Text dimColor={colour && !selected}>{oneLine(fs.reason ?? "")}</Text>
      </Text>
    </Box>
  );
}

export function FilesystemList({ filesystems, cursor, top, rows, width, pending, colour }: FilesystemListProps) {
  const shown = filesystems.slice(top, top + rows);
  return (
    <Box flexDirection="column" width={width} height={rows}>
      {shown.length === 0 ? (
        <Text wrap="truncate-end">{"  No filesystem matches the filter (Esc clears it)"}</Text>
      ) : (
        shown.map((fs, i) => <Row key={fs.name} fs={fs} selected={top + i === cursor} pending={pending[fs.name]} width={width} colour={colour} />)
      )}
    </Box>
  );
}
