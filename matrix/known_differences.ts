/**
 * THE list of known differences: cases that are expected to differ from a reference, and why.
 *
 * A listed case that differs counts as "known" (it does not fail the run). A listed case that no
 * longer differs is reported "fixed — remove the entry" and fails the run, and so does an entry
 * naming no case at all, so this list stays true. `reference` is a runner name (`qemu-user`,
 * `native`) or `*` for any.
 *
 * Example entry:
 * ```ts
 * { case: "busybox/uname-m", reference: "*", reason: "uname -m says x86_64 (issue #12)" },
 * ```
 *
 * @module
 */

import type { KnownDifference } from "./types.ts";

/** Every known difference. Keep each reason short and say what would fix it. */
export const knownDifferences: KnownDifference[] = [];
