// One line of text, cut at the width. It never shrinks, so a view taller than
// its space loses its last lines instead of drawing lines over each other.

import { Box, Text, type TextProps } from "ink";

export function Line(props: TextProps) {
  return (
    <Box flexShrink={0}>
      <Text wrap="truncate-end" {...props} />
    </Box>
  );
}
