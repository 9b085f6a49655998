// Reads every import under src/ (static imports, `export ... from`, and
// `import("...")` expressions) into a graph of files, and judges its edges
// against the layer rules of the README's Layout section.

import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";

export interface ImportEdge {
  from: string;
  to: string;
  /** `import type`, or an import whose every name is `type X`: gone at run time. */
  typeOnly: boolean;
}

const SPECIFIER = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s+["']([^"']+)["']/g;

/** Every relative import of every .ts/.tsx file under `srcDir`, as paths relative to `srcDir`. */
export function readImports(srcDir: string): { files: string[]; edges: ImportEdge[] } {
  const files = readdirSync(srcDir, { recursive: true })
    .map(String)
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => f.split(path.sep).join("/"))
    .sort();
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(srcDir, file), "utf8");
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = match[4] ?? match[5] ?? match[6]!;
      if (!specifier.startsWith(".")) continue;
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const clause = match[3] ?? "";
      const namedOnlyTypes =
        /^\{[^}]*\}$/.test(clause) &&
        clause
          .slice(1, -1)
          .split(",")
          .map((n) => n.trim())
          .filter(Boolean)
          .every((n) => n.startsWith("type "));
      edges.push({ from: file, to, typeOnly: match[2] !== undefined || (match[1] !== undefined && namedOnlyTypes && clause.length > 2) });
    }
  }
  return { files, edges };
}

/** The layer of a file: its folder under src/, or the file name for a top-level file. */
export function layerOf(file: string): string {
  const slash = file.indexOf("/");
  return slash < 0 ? file : file.slice(0, slash);
}

interface Rule {
  layer: string;
  /** Layers it may not import at all (types included). */
  never: readonly string[];
  /** Layers it may import only for types. */
  typesOnly?: readonly string[];
  /** When set, the only layers it may import. */
  only?: readonly string[];
}

export const RULES: readonly Rule[] = [
  { layer: "kmod", never: [], only: ["kmod"] },
  { layer: "system", never: ["decide", "services", "commands", "tui", "report", "context.ts", "cli.ts", "main.ts"] },
  { layer: "decide", never: ["services", "commands", "tui", "report", "context.ts", "cli.ts", "main.ts"], typesOnly: ["system"] },
  { layer: "initramfs", never: [], only: ["initramfs", "kmod"] },
  { layer: "policy", never: ["decide", "services", "commands", "tui", "report", "context.ts", "cli.ts", "main.ts"] },
  { layer: "report", never: ["commands", "tui", "cli.ts", "main.ts"], typesOnly: ["system", "services"] },
  { layer: "services", never: ["commands", "tui", "cli.ts", "main.ts"] },
  { layer: "model.ts", never: [], only: ["model.ts"] },
  { layer: "errors.ts", never: [], only: ["errors.ts"] },
];

/** Edges that break a rule, as "from -> to: why". */
export function forbiddenEdges(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    const from = layerOf(edge.from);
    const to = layerOf(edge.to);
    const rule = RULES.find((r) => r.layer === from);
    if (rule === undefined || from === to) continue;
    if (rule.only !== undefined && !rule.only.includes(to)) found.push(`${edge.from} -> ${edge.to}: ${from} imports only ${rule.only.join(", ")}`);
    else if (rule.never.includes(to)) found.push(`${edge.from} -> ${edge.to}: ${from} never imports ${to}`);
    else if (!edge.typeOnly && rule.typesOnly?.includes(to)) found.push(`${edge.from} -> ${edge.to}: ${from} imports only types from ${to}`);
  }
  return found;
}

/** Every cycle of the graph (type-only edges included), each once, as file paths in import order. */
export function cycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    const list = next.get(from) ?? [];
    if (!list.includes(to)) list.push(to);
    next.set(from, list);
  }
  // Tarjan's strongly connected components; a component of more than one file, or a file importing itself, holds a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (next.get(node) ?? []).includes(node)) components.push(component.sort());
    }
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return components;
}
