/**
 * The whole corpus (fixtures, busybox, shell scripts, Debian programs from the sysroot, x86-64
 * programs through box64) and its
 * selection by `--filter` and `--quick`.
 *
 * @module
 */

import { BUSYBOX_PATH, busyboxCases } from "./corpus_busybox.ts";
import { fixtureCases } from "./corpus_fixtures.ts";
import { SYSROOT_PATH, sysrootCases } from "./corpus_sysroot.ts";
import { shCases } from "./corpus_sh.ts";
import { x86Cases } from "./corpus_x86.ts";
import type { Case } from "./types.ts";

/** The corpus and what the user should know about it. */
export interface Corpus {
  /** Every case, fixtures first. */
  cases: Case[];
  /** What the user should know (catalog or builds missing...). */
  notes: string[];
  /** The busybox binary's path, and whether it is there. */
  busybox: { path: string; present: boolean };
}

/**
 * Loads every case: the fixtures of fixtures/catalog.ts, the busybox cases, the sysroot's.
 *
 * @example
 * ```ts
 * const corpus = await loadCorpus(".");
 * console.log(corpus.cases.length, "cases");
 * ```
 */
export async function loadCorpus(repo: string): Promise<Corpus> {
  const path = `${repo}/${BUSYBOX_PATH}`;
  let present = false;
  try {
    present = (await Deno.stat(path)).isFile;
  } catch {
    present = false;
  }
  const fixtures = await fixtureCases(repo);
  const sysroot = `${repo}/${SYSROOT_PATH}`;
  let haveSysroot = false;
  try {
    haveSysroot = (await Deno.stat(`${sysroot}/.elfuse/unpacked`)).isFile;
  } catch {
    haveSysroot = false;
  }
  const cases = [
    ...fixtures.cases,
    ...busyboxCases(path),
    ...shCases(path),
    ...sysrootCases(sysroot, haveSysroot),
    ...x86Cases(repo),
  ];
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`two cases are named ${c.name}`);
    names.add(c.name);
  }
  return { cases, notes: fixtures.notes, busybox: { path, present } };
}

/**
 * The cases a run selects: those whose name matches `filter`, and only quick ones if `quick`.
 *
 * @example
 * ```ts
 * const quickBusybox = selectCases(corpus.cases, { filter: /^busybox\//, quick: true });
 * ```
 */
export function selectCases(
  cases: readonly Case[],
  opts: { filter?: RegExp; quick?: boolean },
): Case[] {
  return cases.filter((c) =>
    (!opts.quick || c.quick) && (!opts.filter || opts.filter.test(c.name))
  );
}
