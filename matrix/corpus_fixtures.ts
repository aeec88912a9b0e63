/**
 * The fixture corpus: every entry of fixtures/catalog.ts, run from fixtures/build/NAME and judged
 * both against the reference and against the fixture's own expectation. A catalog that is not
 * there yet (or has no `fixtures` array) gives no cases and a note, not an error.
 *
 * @module
 */

import type { Case, Comparison, Expected, FileSpec, NormaliserName } from "./types.ts";
import { normaliserNames } from "./normalise.ts";

/** The fixture cases, with notes for the user (catalog missing, build missing...). */
export interface FixtureCorpus {
  /** One case per catalog entry. */
  cases: Case[];
  /** What the user should know (catalog or builds missing...). */
  notes: string[];
}

/** What the matrix reads of a catalog entry (the catalog's type, plus fields it may grow). */
interface FixtureLike {
  name: string;
  args?: string[];
  stdin?: string;
  timeout?: number;
  expect?: { kind: string; exit?: number; stdout?: string; signal?: string };
  needsExec?: boolean;
  quick?: boolean;
  compareStderr?: boolean;
  normalise?: string[];
  env?: Record<string, string>;
  files?: FileSpec[];
  sysroot?: string;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * One catalog entry as a case (`build` is the fixtures/build directory, `sysroots` the catalog's
 * `sysrootDirs`: sysroot name -> host directory).
 */
export function fixtureCase(
  f: FixtureLike,
  build: string,
  sysroots: Record<string, string> = {},
): Case {
  const normalisers = (f.normalise ?? []).filter((n): n is NormaliserName =>
    (normaliserNames as string[]).includes(n)
  );
  let compare: Comparison = { mode: "exact" };
  let expect: Expected | undefined;
  if (f.expect?.kind === "self-check") compare = { mode: "self-check" };
  else {
    if (normalisers.length) compare = { mode: "normalised", normalisers };
    if (f.expect?.kind === "exact") {
      expect = { exit: f.expect.exit, signal: f.expect.signal, stdout: f.expect.stdout };
    }
  }
  return {
    name: `fixture/${f.name}`,
    group: "fixture",
    program: `${build}/${f.name}`,
    steps: [{ args: f.args ?? [], stdin: f.stdin }],
    env: f.env,
    files: f.files,
    timeout: f.timeout ?? 30,
    compare,
    compareStderr: f.compareStderr,
    expect,
    needsExec: f.needsExec,
    sysroot: f.sysroot === undefined ? undefined : sysroots[f.sysroot] ?? f.sysroot,
    quick: f.quick ?? (f.timeout ?? 10) <= 10,
  };
}

/**
 * Loads fixtures/catalog.ts from the repository and turns each entry into a case. Cases whose
 * binary is not built are skipped with "run `deno task fixtures`".
 *
 * @example
 * ```ts
 * const { cases, notes } = await fixtureCases(".");
 * for (const n of notes) console.error(n);
 * console.log(cases.map((c) => c.name));
 * ```
 */
export async function fixtureCases(repo: string): Promise<FixtureCorpus> {
  const catalog = `${repo}/fixtures/catalog.ts`;
  const build = `${repo}/fixtures/build`;
  const notes: string[] = [];
  if (!(await isFile(catalog))) {
    return { cases: [], notes: ["fixtures/catalog.ts not found: no fixture cases"] };
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(new URL(`file://${catalog}`).href);
  } catch (e) {
    return {
      cases: [],
      notes: [`fixtures/catalog.ts could not be loaded (${(e as Error).message.split("\n")[0]})`],
    };
  }
  const list = mod.fixtures;
  if (!Array.isArray(list)) {
    return {
      cases: [],
      notes: ["fixtures/catalog.ts has no `fixtures` array yet: no fixture cases"],
    };
  }
  const haveBuild = await isDir(build);
  if (!haveBuild && list.length) notes.push("fixtures/build/ is missing: run `deno task fixtures`");
  const cases: Case[] = [];
  const seen = new Set<string>();
  for (const f of list as FixtureLike[]) {
    if (!f || typeof f.name !== "string" || seen.has(f.name)) {
      notes.push(`fixtures/catalog.ts: skipped a nameless or duplicate entry (${f?.name})`);
      continue;
    }
    seen.add(f.name);
    const c = fixtureCase(f, build, (mod.sysrootDirs ?? {}) as Record<string, string>);
    if (!(await isFile(c.program))) {
      c.skip = `fixtures/build/${f.name} not built: run \`deno task fixtures\``;
    } else if (c.sysroot && !(await isDir(c.sysroot))) {
      c.skip = `sysroot ${c.sysroot} missing (install libc6-dev-arm64-cross)`;
    }
    cases.push(c);
  }
  const missing = cases.filter((c) => c.skip).length;
  if (haveBuild && missing) {
    notes.push(`${missing} fixture(s) not built: run \`deno task fixtures\``);
  }
  return { cases, notes };
}
