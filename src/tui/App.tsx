// The review screen: header, the list with the selected filesystem's details,
// a message line and the keys. Overlays (details, help, diff, quit) take the
// place of the list. Every line is cut at the terminal's width, never wrapped.

import { useEffect, useLayoutEffect } from "react";
import { Box, Text, useApp, useInput } from "ink";
import { ConfirmDialog } from "./ConfirmDialog.tsx";
import { DetailsPane } from "./DetailsPane.tsx";
import { DiffView } from "./DiffView.tsx";
import { FilesystemList, ListHeader } from "./FilesystemList.tsx";
import { HelpOverlay } from "./HelpOverlay.tsx";
import {
  cursorIndex,
  equivalentCommands,
  pendingChanges,
  progressOf,
  selectedFilesystem,
  visibleFilesystems,
  windowTop,
  type ReviewProgress,
  type ReviewReport,
  type ReviewState,
} from "./review-state.ts";
import { useReview, type ReviewServices } from "./use-review.ts";
import { useTerminalSize } from "./use-terminal-size.ts";
import { tint } from "./state-style.ts";

export interface AppProps {
  report: ReviewReport;
  services: ReviewServices;
  /** Running as root: otherwise browsing works and applying explains why not. */
  canApply: boolean;
  colour: boolean;
  /** Told what is pending or being written whenever that changes: what stopping the review now would cut short. */
  onProgress?: (progress: ReviewProgress) => void;
}

const MIN_COLUMNS = 40;
const MIN_ROWS = 10;
const DETAILS_HEIGHT = 6;

interface Layout {
  width: number;
  height: number;
  /** Rows for the list, the details pane under it, and the overlays' region. */
  listRows: number;
  detailsHeight: number;
  regionHeight: number;
}

function layoutFor(columns: number, rows: number): Layout {
  // One row short of the screen: Ink clears the whole terminal before every
  // frame that is as tall as the screen, which flickers.
  const height = Math.max(1, rows - 1);
  const detailsHeight = height >= 18 ? DETAILS_HEIGHT : 0;
  const regionHeight = Math.max(1, height - 3);
  return { width: columns, height, detailsHeight, regionHeight, listRows: Math.max(1, regionHeight - 1 - detailsHeight) };
}

function Header({ state, width, colour }: { state: ReviewState; width: number; colour: boolean }) {
  const total = state.report.filesystems.length;
  const shown = visibleFilesystems(state).length;
  const pending = pendingChanges(state).length;
  // Most important first: the end of the line is cut on narrow terminals.
  const parts: string[] = [];
  if (pending > 0) parts.push(`${pending} pending`);
  if (!state.canApply) parts.push("read-only (not root)");
  if (state.filter !== "") parts.push(`filter "${state.filter}": ${shown} shown`);
  parts.push(`kernel ${state.report.kernel ?? "none running"}`, `${total} filesystems`);
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        <Text bold={colour}>fsblacklist review</Text>
        {" · " + parts.join(" · ")}
      </Text>
    </Box>
  );
}

function MessageLine({ state, width, colour }: { state: ReviewState; width: number; colour: boolean }) {
  let text = "";
  let tone: string | undefined;
  if (state.mode.kind === "planning") text = "Working out the file changes…";
  else if (state.mode.kind === "applying") text = "Writing the changes…";
  else if (state.message !== null) {
    text = state.message.text;
    tone = state.message.tone === "error" ? "red" : state.message.tone === "success" ? "green" : undefined;
  } else if (state.report.notes.length > 0) text = `note: ${state.report.notes.join("; ")}`;
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" {...tint(colour, tone)}>
        {text === "" ? " " : text}
      </Text>
    </Box>
  );
}

function footerText(state: ReviewState): string {
  switch (state.mode.kind) {
    case "filter":
      return `/${state.filter}▏  type to filter · Enter keep · Esc clear`;
    case "diff":
      if (state.mode.plan.refused.length > 0) return "Cannot apply this (see above): change what is marked, or use the commands · n back";
      if (!state.canApply) {
        return `Applying needs root. As root run fsblacklist review again, or: ${equivalentCommands(pendingChanges(state)).join("; ")} · n back`;
      }
      return "Write these changes? y yes · n no · ↑↓ scroll";
    case "help":
      return "any key closes the help";
    case "quit-confirm":
      return "y or Ctrl-C quit without applying · n back";
    case "details":
      return "↑↓ move · space allow/block · r reset · Enter/Esc back · ? keys";
    default:
      return "↑↓ move  / filter  space allow/block  r reset  ⏎ more  a apply  ? help  q quit";
  }
}

function Region({ state, layout, colour }: { state: ReviewState; layout: Layout; colour: boolean }) {
  const { width, regionHeight } = layout;
  const selected = selectedFilesystem(state);
  switch (state.mode.kind) {
    case "help":
      return <HelpOverlay width={width} height={regionHeight} colour={colour} />;
    case "diff":
      return <DiffView plan={state.mode.plan} scroll={state.mode.scroll} width={width} height={regionHeight} colour={colour} />;
    case "details":
      return <DetailsPane fs={selected} kernel={state.report.kernel} pending={selected ? state.pending[selected.name] : undefined} width={width} height={regionHeight} expanded colour={colour} />;
    case "quit-confirm": {
      const changes = pendingChanges(state).map((c) => `${c.action} ${c.name}`);
      return (
        <Box flexDirection="column" width={width} height={regionHeight}>
          <ConfirmDialog
            question={`${changes.length} change${changes.length === 1 ? " is" : "s are"} not applied yet. Quit and drop ${changes.length === 1 ? "it" : "them"}?`}
            detail={`pending: ${changes.join(", ")} (n, then a, applies them)`}
            width={width}
            colour={colour}
          />
        </Box>
      );
    }
    default:
      return (
        <Box flexDirection="column" width={width} height={regionHeight}>
          <ListHeader width={width} colour={colour} />
          <FilesystemList
            filesystems={visibleFilesystems(state)}
            cursor={cursorIndex(state)}
            // Until the reducer hears of a new size, the window is worked out here.
            top={windowTop(state.top, cursorIndex(state), visibleFilesystems(state).length, layout.listRows)}
            rows={layout.listRows}
            width={width}
            pending={state.pending}
            colour={colour}
          />
          {layout.detailsHeight > 0 && (
            <DetailsPane
              fs={selected}
              kernel={state.report.kernel}
              pending={selected ? state.pending[selected.name] : undefined}
              width={width}
              height={layout.detailsHeight}
              expanded={false}
              colour={colour}
            />
          )}
        </Box>
      );
  }
}

/** What a window too small to draw in shows: what is pending and the keys that still work first, wrapped to its width. */
function tooSmall(state: ReviewState, columns: number, rows: number): string {
  const size = `Terminal too small (${columns}x${rows}; fsblacklist review needs ${MIN_COLUMNS}x${MIN_ROWS}).`;
  const pending = pendingChanges(state).length;
  const changes = `${pending} pending change${pending === 1 ? "" : "s"}`;
  if (state.mode.kind === "quit-confirm") return `Quit without writing ${changes}? y quits, n goes back. ${size}`;
  return pending > 0 ? `${changes}: enlarge the window to write ${pending === 1 ? "it" : "them"}; q asks before quitting. ${size}` : `${size} q quits.`;
}

export function App({ report, services, canApply, colour, onProgress }: AppProps) {
  const { columns, rows } = useTerminalSize();
  const layout = layoutFor(columns, rows);
  const pageRows = Math.max(1, layout.regionHeight - 1);
  const drawable = columns >= MIN_COLUMNS && rows >= MIN_ROWS;
  const [state, dispatch] = useReview(report, services, canApply, { rows: layout.listRows, pageRows, drawable });
  const { exit } = useApp();

  // A layout effect: the state knows the new size before the next key is read.
  useLayoutEffect(() => dispatch({ type: "resize", rows: layout.listRows, pageRows, drawable }), [layout.listRows, pageRows, drawable, dispatch]);
  // How it ended is what waitUntilExit() resolves with.
  useEffect(() => {
    if (state.ended !== null) exit(state.ended);
  }, [state.ended, exit]);
  // A layout effect, in step with what is on screen: a signal can come between a commit and its effects.
  useLayoutEffect(() => {
    onProgress?.(progressOf(state));
  }, [state.pending, state.mode.kind, onProgress]);

  useInput((input, key) => dispatch({ type: "key", input, key }));

  if (!drawable) {
    return (
      <Box width={columns} height={layout.height}>
        <Text wrap="wrap">{tooSmall(state, columns, rows)}</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={layout.width} height={layout.height}>
      <Header state={state} width={layout.width} colour={colour} />
      <Region state={state} layout={layout} colour={colour} />
      <MessageLine state={state} width={layout.width} colour={colour} />
      <Box width={layout.width} height={1}>
        <Text wrap="truncate-end" dimColor={colour}>
          {footerText(state)}
        </Text>
      </Box>
    </Box>
  );
}
