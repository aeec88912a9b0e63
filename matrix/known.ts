/**
 * Known-difference bookkeeping: turns a case's differences into a verdict, given the entries of
 * known_differences.ts, and finds entries that no longer hold.
 *
 * @module
 */

import type { Difference, KnownDifference, Verdict } from "./types.ts";

/** The file the entries live in, for messages. */
export const KNOWN_FILE = "matrix/known_differences.ts";

/**
 * The entry covering this case against this reference, if any.
 *
 * @example
 * ```ts
 * const entry = findEntry(knownDifferences, "busybox/date", "qemu-user");
 * if (entry) console.log(entry.reason);
 * ```
 */
export function findEntry(
  entries: readonly KnownDifference[],
  caseName: string,
  reference: string,
): KnownDifference | undefined {
  return entries.find((e) =>
    e.case === caseName && (e.reference === "*" || e.reference === reference)
  ) ??
    undefined;
}

/**
 * The verdict for a case that ran: pass, fail, known (listed and differs), or fixed (listed and
 * no longer differs, which fails the run until the entry is removed). An entry describes what
 * the output shows, never a hang: when the subject timed out and the reference did not
 * (`subjectHung`), the case fails whatever the entry says.
 *
 * @example
 * ```ts
 * judge([], { case: "busybox/true", reference: "*", reason: "…" });
 * // { verdict: "fixed", reason: "fixed — remove the entry from matrix/known_differences.ts" }
 * ```
 */
export function judge(
  differences: readonly Difference[],
  entry: KnownDifference | undefined,
  subjectHung = false,
): { verdict: Verdict; reason: string } {
  if (differences.length === 0) {
    if (entry && !entry.intermittent) {
      return { verdict: "fixed", reason: `fixed — remove the entry from ${KNOWN_FILE}` };
    }
    return { verdict: "pass", reason: "" };
  }
  if (entry && subjectHung) {
    return {
      verdict: "fail",
      reason: `timed out (a known difference does not cover a hang): ${differences[0].summary}`,
    };
  }
  if (entry) return { verdict: "known", reason: `known: ${entry.reason}` };
  return { verdict: "fail", reason: differences[0].summary };
}

/**
 * Entries naming no case of the whole corpus (they fail the run: remove or rename them).
 *
 * @example
 * ```ts
 * const stale = staleEntries(knownDifferences, corpus.cases.map((c) => c.name));
 * for (const e of stale) console.log(`remove ${e.case}`);
 * ```
 */
export function staleEntries(
  entries: readonly KnownDifference[],
  allCaseNames: Iterable<string>,
): KnownDifference[] {
  const names = new Set(allCaseNames);
  return entries.filter((e) => !names.has(e.case));
}

/**
 * Problems with the entries themselves: missing fields and duplicates.
 *
 * @example
 * ```ts
 * for (const p of entryProblems(knownDifferences)) console.error(p);
 * ```
 */
export function entryProblems(entries: readonly KnownDifference[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, e] of entries.entries()) {
    const where = `${KNOWN_FILE} entry ${i + 1}`;
    if (!e || typeof e.case !== "string" || e.case === "") problems.push(`${where}: no case`);
    if (!e || typeof e.reference !== "string" || e.reference === "") {
      problems.push(`${where}: no reference (a runner name or "*")`);
    }
    if (!e || typeof e.reason !== "string" || e.reason.trim() === "") {
      problems.push(`${where}: no reason`);
    }
    const key = `${e?.case}\0${e?.reference}`;
    if (seen.has(key)) problems.push(`${where}: duplicate of an earlier entry for ${e.case}`);
    seen.add(key);
  }
  return problems;
}
