// A yes/no question in a box; the keys are handled by the App's key map.

import { Box, Text } from "ink";

export interface ConfirmDialogProps {
  question: string;
  detail: string;
  width: number;
  colour: boolean;
}

export function ConfirmDialog({ question, detail, width, colour }: ConfirmDialogProps) {
  return (
    <Box flexDirection="column" width={width} borderStyle="round" borderColor={colour ? "yellow" : undefined} paddingX={1}>
      <Text wrap="wrap" bold={colour}>
        {question}
      </Text>
      <Text wrap="truncate-end">{detail}</Text>
      <Text wrap="truncate-end">
        <Text bold={colour}>y</Text> yes · <Text bold={colour}>n</Text> no
      </Text>
    </Box>
  );
}
