/**
 * Counting a run: the `N passed, N failed, N skipped` line and the exit status. Known differences
 * count as skipped (they ran, differed, and were expected to); "fixed" entries and entries naming
 * no case count as failed, so the known-difference list stays true.
 *
 * @module
 */

import type { Counts, MatrixResult } from "./types.ts";

/**
 * The counts of a run.
 *
 * @example
 * ```ts
 * const { passed, failed, skipped } = countOutcomes(result);
 * ```
 */
export function countOutcomes(r: MatrixResult): Counts {
  const c: Counts = { passed: 0, failed: 0, skipped: 0, known: 0, fixed: 0 };
  for (const o of r.outcomes) {
    if (o.verdict === "pass") c.passed++;
    else if (o.verdict === "fail") c.failed++;
    else if (o.verdict === "fixed") {
      c.fixed++;
      c.failed++;
    } else if (o.verdict === "known") {
      c.known++;
      c.skipped++;
    } else c.skipped++;
  }
  c.failed += r.staleEntries.length;
  return c;
}

/**
 * `N passed, N failed, N skipped`: the run's last line.
 *
 * @example
 * ```ts
 * console.log(summaryLine(countOutcomes(result))); // "12 passed, 0 failed, 1 skipped"
 * ```
 */
export function summaryLine(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
}

/**
 * 0 when nothing differed unexpectedly and the known-difference list is true, else 1.
 *
 * @example
 * ```ts
 * Deno.exitCode = exitCode(result);
 * ```
 */
export function exitCode(r: MatrixResult): number {
  return countOutcomes(r).failed > 0 ? 1 : 0;
}
