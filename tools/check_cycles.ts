// `deno task check`'s import-cycle check: no module may reach itself through static value
// imports. Type-only imports (`import type`, `export type`) and dynamic `import()` are erased or
// lazy, so they are not edges. Exits 1 and prints each cycle found.
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const skip = new Set([".tools", "fixtures", ".git", "node_modules"]);

/** Every .ts file of the project, as absolute paths. */
function sources(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(dir)) {
    if (skip.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory) sources(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

// `import x from "./a.ts"`, `import { a, type b } from`, `export { a } from`, `export * from`,
// `import "./side_effect.ts"`; statements may span lines.
const STATIC = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*(?:from\s*)?["']([^"']+)["']/g;

/** The files `file` imports for their values. */
export function valueImports(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(STATIC)) {
    const [, kind, typeOnly, clause, spec] = m;
    if (typeOnly) continue;
    if (kind === "export" && !/^(\*|\{)/.test(clause)) continue; // `export const x = "..."`
    // `import { type A, type B } from`: every name type-only.
    const names = /^\{([^}]*)\}$/.exec(clause.trim());
    if (names && names[1].split(",").every((n) => n.trim() === "" || /^type\s/.test(n.trim()))) {
      continue;
    }
    if (!spec.startsWith(".")) continue;
    out.push(resolve(dirname(file), spec));
  }
  return out;
}

/** Cycles in the graph, each as a list of files, found by depth-first search. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      const s = state.get(d);
      if (s === "open") cycles.push(stack.slice(stack.indexOf(d)));
      else if (s === undefined && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

if (import.meta.main) {
  const graph = new Map<string, string[]>();
  for (const f of sources(root)) graph.set(f, valueImports(f, Deno.readTextFileSync(f)));
  const cycles = findCycles(graph);
  for (const c of cycles) {
    console.error(`import cycle: ${[...c, c[0]].map((f) => relative(root, f)).join(" -> ")}`);
  }
  if (cycles.length > 0) Deno.exit(1);
}
