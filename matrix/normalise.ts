/**
 * Named normalisers: text rewrites for values that legitimately differ between two runs of the
 * same program (pids, clock times, durations, addresses, temporary names, readdir order). A case
 * names the ones it needs (`{ mode: "normalised", normalisers: [...] }`); the working directory's
 * path is always replaced by `$WORKDIR`, since every run gets its own.
 *
 * @module
 */

import type { NormaliserName } from "./types.ts";

/** What a normaliser may need to know about the run. */
export interface NormaliseContext {
  /** The run's working directory, replaced by `$WORKDIR` everywhere. */
  workdir?: string;
}

/** A text rewrite. */
export type Normaliser = (s: string) => string;

const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";

/** Every named normaliser, with what it replaces. */
export const NORMALISERS: Record<NormaliserName, { describe: string; apply: Normaliser }> = {
  pids: {
    describe: "numbers after pid/ppid/tid/pgid/sid, and /proc/NNN, become <PID>",
    apply: (s) =>
      s.replace(/\b(pid|ppid|tid|pgid|sid|pgrp)(\s*[=:]?\s*)\d+/gi, "$1$2<PID>")
        .replace(/\/proc\/\d+(?=\/|\b)/g, "/proc/<PID>"),
  },
  times: {
    describe: "clock times and dates (ISO, `date` and `ls -l` styles, epoch seconds) become <TIME>",
    apply: (s) =>
      s.replace(
        /\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:\s?(?:Z|[+-]\d\d:?\d\d|UTC))?/g,
        "<TIME>",
      )
        .replace(
          new RegExp(
            `\\b(?:${DAY} )?${MONTH}\\s+\\d{1,2}\\s+\\d\\d:\\d\\d(?::\\d\\d)?` +
              `(?:\\s+[A-Z]{2,5})?(?:\\s+\\d{4})?`,
            "g",
          ),
          "<TIME>",
        )
        .replace(/\b\d\d:\d\d:\d\d(?:\.\d+)?\b/g, "<TIME>")
        .replace(/\b1[5-9]\d{8}\b/g, "<TIME>"),
  },
  durations: {
    describe: "durations like 0.012s, 12ms, 1m2.5s, `real 0m0.01s` become <DURATION>",
    apply: (s) =>
      s.replace(/\b\d+m\d+(?:\.\d+)?s\b/g, "<DURATION>")
        .replace(/\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|sec|seconds?)\b/g, "<DURATION>"),
  },
  addresses: {
    describe: "hex addresses (0x and 8+ digits) and maps-style ranges become <ADDR>",
    apply: (s) =>
      s.replace(/\b[0-9a-f]{8,16}-[0-9a-f]{8,16}\b/g, "<ADDR>-<ADDR>")
        .replace(/\b0x[0-9a-fA-F]{6,16}\b/g, "<ADDR>"),
  },
  "temp-names": {
    describe: "mktemp-style names (tmp.XXXXXX, /tmp/anything) become <TMP>",
    apply: (s) =>
      s.replace(/\/tmp\/[A-Za-z0-9._-]+/g, "/tmp/<TMP>").replace(
        /\btmp\.[A-Za-z0-9]{6,}\b/g,
        "tmp.<TMP>",
      ),
  },
  "sort-lines": {
    describe: "lines are sorted (for output in readdir order, which no one promises)",
    apply: (s) => {
      const end = s.endsWith("\n");
      const lines = (end ? s.slice(0, -1) : s).split("\n");
      lines.sort();
      return lines.join("\n") + (end ? "\n" : "");
    },
  },
  "trailing-space": {
    describe: "spaces and tabs at line ends are removed",
    apply: (s) => s.replace(/[ \t]+$/gm, ""),
  },
};

/** The names of every normaliser. */
export const normaliserNames = Object.keys(NORMALISERS) as NormaliserName[];

/**
 * Applies the workdir substitution, then the named normalisers in order.
 *
 * @example
 * ```ts
 * normalise("pid 4242 at 0x7fff12345678\n", ["pids", "addresses"]);
 * // "pid <PID> at <ADDR>\n"
 * ```
 */
export function normalise(
  s: string,
  names: readonly NormaliserName[],
  ctx: NormaliseContext = {},
): string {
  let out = ctx.workdir ? s.split(ctx.workdir).join("$WORKDIR") : s;
  for (const n of names) {
    const entry = NORMALISERS[n];
    if (!entry) throw new Error(`unknown normaliser ${JSON.stringify(n)}`);
    out = entry.apply(out);
  }
  return out;
}
