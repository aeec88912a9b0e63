// `deno task check`'s example check: every function and class the package exports (deno.json's
// exports) has an @example in its doc comment. `deno doc --lint` checks that each export has a doc
// comment and that no public type names a private one; it does not ask for examples.

/** A symbol of `deno doc --json` output, as far as this check reads it. */
interface DocSymbol {
  name: string;
  declarations: {
    kind: string;
    location?: { filename: string; line: number };
    jsDoc?: { tags?: { kind: string }[] };
  }[];
}

/** The exported functions and classes without an @example, as "file:line name". */
export function missingExamples(
  doc: { nodes: Record<string, { symbols: DocSymbol[] }> },
): string[] {
  const out = new Set<string>();
  for (const { symbols } of Object.values(doc.nodes)) {
    for (const s of symbols) {
      const decls = s.declarations.filter((d) => d.kind === "function" || d.kind === "class");
      if (decls.length === 0) continue;
      if (decls.some((d) => d.jsDoc?.tags?.some((t) => t.kind === "example"))) continue;
      const at = decls[0].location;
      const where = at
        ? `${new URL(at.filename).pathname.split("/").slice(-2).join("/")}:${at.line}`
        : "";
      out.add(`${where} ${s.name}`);
    }
  }
  return [...out].sort();
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url).pathname;
  const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));
  const entries = Object.values(config.exports as Record<string, string>);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) Deno.exit(1);
  const missing = missingExamples(JSON.parse(new TextDecoder().decode(out.stdout)));
  for (const m of missing) console.error(`check_examples: no @example: ${m}`);
  if (missing.length) Deno.exit(1);
}
