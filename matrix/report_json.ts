/**
 * The JSON report: every result of a run, with stdout and stderr as text (cut past 64 KiB, with
 * their full sizes and SHA-256 digests) so the file stays readable however large the outputs; the
 * environment it ran in (versions, host, binfmt_misc); and per case the command lines that run it
 * again under each runner.
 *
 * @module
 */

import { isText, sha256, text } from "./status.ts";
import { countOutcomes, summaryLine } from "./summary.ts";
import type { MatrixResult, Observed } from "./types.ts";

/** Characters of each stream kept in the JSON. */
const KEEP = 64 * 1024;

async function stream(b: Uint8Array) {
  const binary = !isText(b);
  const t = binary ? "" : text(b);
  return {
    bytes: b.length,
    sha256: await sha256(b),
    binary,
    text: t.slice(0, KEEP),
    truncated: t.length > KEEP,
  };
}

async function observed(o: Observed | undefined) {
  if (!o) return undefined;
  return {
    runner: o.runner,
    status: o.status,
    stepsRun: o.stepsRun,
    stepsTotal: o.stepsTotal,
    wallMs: Math.round(o.wallMs * 10) / 10,
    timedOut: o.timedOut,
    stdout: await stream(o.stdout),
    stderr: await stream(o.stderr),
    files: o.files,
  };
}

/**
 * The run as a JSON-ready object.
 *
 * @example
 * ```ts
 * const report = await toJson(result) as { summary: string };
 * console.log(report.summary);
 * ```
 */
export async function toJson(r: MatrixResult): Promise<unknown> {
  const counts = countOutcomes(r);
  return {
    summary: summaryLine(counts),
    counts,
    subject: r.subject,
    reference: r.reference,
    host: r.host,
    environment: r.environment,
    startedAt: r.startedAt,
    wallMs: Math.round(r.wallMs),
    notes: r.notes,
    staleEntries: r.staleEntries,
    outcomes: await Promise.all(r.outcomes.map(async (o) => ({
      case: o.case,
      group: o.group,
      command: o.command,
      verdict: o.verdict,
      reason: o.reason,
      judgedAlone: o.judgedAlone,
      ratio: o.ratio,
      reproduce: o.reproduce,
      differences: o.differences,
      subject: await observed(o.subject),
      reference: await observed(o.reference),
    }))),
  };
}

/**
 * The run as JSON text.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("matrix-report.json", await renderJson(result));
 * ```
 */
export async function renderJson(r: MatrixResult): Promise<string> {
  return JSON.stringify(await toJson(r), null, 2) + "\n";
}
