/**
 * The command lines that run a case again by hand, for reports: the matrix command for just that
 * case, and each runner's steps as one shell line in the case's working directory.
 *
 * @module
 */

import { isText, shellQuote, text } from "./status.ts";
import type { Case, Invocation, Observed, Reproduction, Runner } from "./types.ts";

/** Stdin up to this size is spelt out in the line (`printf '%s' ... |`); larger is only noted. */
const INLINE_STDIN = 4096;

/** Options of {@linkcode reproduction}. */
export interface ReproduceOptions {
  /** The case's guest environment (run.ts caseEnv). */
  env: Record<string, string>;
  /** The working directories were kept (`--keep`): the lines `cd` into them. */
  kept: boolean;
  /** The matrix command line before `--filter` (default `deno task matrix`). */
  matrix?: string;
}

function stepLines(
  c: Case,
  runner: Runner,
  o: Observed,
  opts: ReproduceOptions,
  notes: Set<string>,
): string | undefined {
  if (!runner.shellCommand) return undefined;
  const dir = opts.kept || (c.files?.length ?? 0) > 0 ? shellQuote(o.workdir) : '"$(mktemp -d)"';
  const steps = c.steps.map((step) => {
    const inv: Invocation = {
      program: c.program,
      args: step.args,
      cwd: o.workdir,
      env: opts.env,
      timeoutSeconds: 0,
      sysroot: c.sysroot,
    };
    const cmd = runner.shellCommand!(inv);
    if (step.stdin === undefined) return `${cmd} </dev/null`;
    const data = typeof step.stdin === "string"
      ? step.stdin
      : step.stdin instanceof Uint8Array && isText(step.stdin)
      ? text(step.stdin)
      : undefined;
    if (data !== undefined && data.length <= INLINE_STDIN) {
      return `printf '%s' ${shellQuote(data)} | ${cmd}`;
    }
    notes.add("a step reads stdin the case generates (the matrix command feeds it)");
    return `${cmd} <STDIN`;
  });
  return `cd ${dir} && ${steps.join(" && ")}`;
}

/**
 * How to run `c` again: the matrix command for it alone, and each runner's steps as one line.
 *
 * @example
 * ```ts
 * const r = reproduction(c, elfuse, s, qemu, q, { env: caseEnv(c), kept: false });
 * console.log(r.subject); // cd "$(mktemp -d)" && /repo/elfuse --clear-env ... -- /repo/fixtures/build/x </dev/null
 * ```
 */
export function reproduction(
  c: Case,
  subject: Runner,
  s: Observed | undefined,
  reference: Runner | null,
  r: Observed | undefined,
  opts: ReproduceOptions,
): Reproduction {
  const notes = new Set<string>();
  const escaped = c.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const out: Reproduction = {
    matrix: `${opts.matrix ?? "deno task matrix"} --filter ${shellQuote(`^${escaped}$`)} --keep`,
  };
  if (s) out.subject = stepLines(c, subject, s, opts, notes);
  if (r && reference) out.reference = stepLines(c, reference, r, opts, notes);
  if ((c.files?.length ?? 0) > 0 && !opts.kept) {
    notes.add(
      `the case creates ${c.files!.length} file(s) in its directory first, which the run ` +
        `removed: the matrix command with --keep leaves them there`,
    );
  }
  if (notes.size) out.note = [...notes].join("; ");
  return out;
}
