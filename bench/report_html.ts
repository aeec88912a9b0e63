// `deno task bench --html FILE`: one self-contained page (no scripts, no external files) that says
// what kind of run it was (full or --quick, runs per case, host, versions), with the results table
// and a bar chart of the ratios on a log scale, 1x marked. A ratio whose runs spread too widely
// (bench/stats.ts) is drawn grey and labelled unreliable, not shown as a finding.
import type { Environment } from "../matrix/environment.ts";
import { ENVIRONMENT_LABELS } from "../matrix/environment.ts";
import type { Sample } from "./stats.ts";

/** One benchmark's result, as bench/cli.ts measures it. */
export interface BenchRow {
  name: string;
  elfuse: Sample;
  qemu: Sample | null;
  /** elfuse/qemu: of the medians, or of the per-iteration costs for loops. */
  ratio: number | null;
  perOpElfuseUs?: number;
  perOpQemuUs?: number;
  /** The smallest and largest ratio the runs' extremes allow. */
  ratioRange?: [number, number];
  /** Set when the ratio is noise rather than a finding: why (bench/stats.ts). */
  unreliable?: string;
  /** Why qemu-user did not run it (an exec it cannot follow here), when it did not. */
  qemuMissing?: string;
}

/** A whole benchmark run, as --json writes it and --from reads it back. */
export interface BenchRun {
  /** Timed runs per command, after a warm-up. */
  runs: number;
  /** A --quick run: fewer runs and smaller inputs. */
  quick: boolean;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** Where it ran (missing in files from before it was recorded). */
  environment?: Environment;
  rows: BenchRow[];
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** `1.23x`, or `unreliable` when the runs do not pin it down. */
export function ratioLabel(r: BenchRow): string {
  if (r.ratio === null) return "-";
  return r.unreliable ? "unreliable" : `${r.ratio.toFixed(2)}x`;
}

/** The chart: one bar per row with a ratio, from 0.1x to 100x on a log scale. */
export function ratioChart(rows: BenchRow[]): string {
  const shown = rows.filter((r) => r.ratio !== null && r.ratio > 0);
  const label = 230, width = 520, bar = 22, top = 24;
  const lo = Math.log10(0.1), hi = Math.log10(100);
  const x = (ratio: number) =>
    label + ((Math.min(Math.max(Math.log10(ratio), lo), hi) - lo) / (hi - lo)) * width;
  const height = top + shown.length * bar + 10;
  const ticks = [0.1, 0.5, 1, 2, 5, 10, 50, 100].map((t) =>
    `<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${height - 6}" stroke="${
      t === 1 ? "#333" : "#ddd"
    }"/><text x="${x(t)}" y="${top - 8}" font-size="11" text-anchor="middle">${t}x</text>`
  );
  const bars = shown.map((r, i) => {
    const y = top + i * bar;
    const w = Math.max(1, x(r.ratio!) - x(0.1));
    const colour = r.unreliable ? "#bbb" : r.ratio! <= 1 ? "#3a7" : r.ratio! <= 3 ? "#da3" : "#c44";
    const range = r.unreliable && r.ratioRange
      ? `<line x1="${x(Math.max(r.ratioRange[0], 0.1))}" y1="${y + 11}" x2="${
        x(Number.isFinite(r.ratioRange[1]) ? r.ratioRange[1] : 100)
      }" y2="${y + 11}" stroke="#777" stroke-dasharray="3 2"/>`
      : "";
    const title = r.unreliable
      ? `${esc(r.name)}: unreliable (${esc(r.unreliable)})`
      : `${esc(r.name)}: ${r.ratio!.toFixed(2)}x`;
    return `<text x="${label - 8}" y="${y + 15}" font-size="12" text-anchor="end">${
      esc(r.name)
    }</text><rect x="${x(0.1)}" y="${y + 4}" width="${w}" height="${bar - 8}" fill="${colour}">` +
      `<title>${title}</title></rect>${range}` +
      `<text x="${x(0.1) + w + 4}" y="${y + 15}" font-size="11">${
        r.unreliable ? `unreliable (median ${r.ratio!.toFixed(2)}x)` : `${r.ratio!.toFixed(2)}x`
      }</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    label + width + 160
  }" height="${height}" role="img" aria-label="elfuse/qemu ratios">${ticks.join("")}${
    bars.join("")
  }</svg>`;
}

/** What kind of run it was, in one sentence. */
export function runKind(run: BenchRun): string {
  return run.quick
    ? `A --quick run: median of ${run.runs} runs after a warm-up each, with small inputs. ` +
      `Quick ratios are rough; per-iteration costs especially.`
    : `A full run: median of ${run.runs} runs after a warm-up each.`;
}

/** The whole page. */
export function benchHtml(run: BenchRun): string {
  const ms = (n: number) => n.toFixed(1);
  const body = run.rows.map((r) =>
    `<tr${r.unreliable ? ' class="unreliable"' : ""}><td>${esc(r.name)}</td><td>${
      ms(r.elfuse.median)
    } (${ms(r.elfuse.min)}-${ms(r.elfuse.max)})</td><td>${
      r.qemu
        ? `${ms(r.qemu.median)} (${ms(r.qemu.min)}-${ms(r.qemu.max)})`
        : r.qemuMissing
        ? `<span title="${esc(r.qemuMissing)}">not run*</span>`
        : "-"
    }</td>` +
    `<td>${
      r.perOpElfuseUs !== undefined
        ? `${r.perOpElfuseUs.toFixed(3)} / ${r.perOpQemuUs?.toFixed(3) ?? "-"}`
        : ""
    }</td><td>${esc(ratioLabel(r))}${
      r.unreliable ? `<br><small>${esc(r.unreliable)}</small>` : ""
    }</td></tr>`
  );
  const env = run.environment;
  const envRows = env
    ? (Object.keys(ENVIRONMENT_LABELS) as (keyof Environment)[]).map((k) =>
      `<tr><th>${esc(ENVIRONMENT_LABELS[k])}</th><td>${esc(env[k])}</td></tr>`
    ).join("")
    : `<tr><td>not recorded</td></tr>`;
  const kind = run.quick ? "--quick run" : "full run";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>elfuse benchmarks (${kind})</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
td small{white-space:normal}
td:first-child,th:first-child{text-align:left}.env th,.env td{text-align:left}
.kind{font-weight:600}${run.quick ? ".kind{color:#8a5a00}" : ""}
tr.unreliable td{color:#777}small{color:#777}</style>
</head><body>
<h1>elfuse against qemu-aarch64 (${kind})</h1>
<p class="kind">${esc(runKind(run))}</p>
<p>Started ${esc(run.startedAt)}. Ratio = elfuse/qemu (per iteration for loops, start-up taken
out). Green: faster than qemu-user; amber: up to 3x; red: more; grey: unreliable, because the runs
allow values more than 2x apart (the dashed line spans them).</p>
<table class="env">${envRows}</table>
${ratioChart(run.rows)}
<table><tr><th>benchmark</th><th>elfuse ms (min-max)</th><th>qemu ms (min-max)</th>
<th>per iteration µs, elfuse / qemu</th><th>ratio</th></tr>
${body.join("\n")}
</table>
${
    run.rows.filter((r) => r.qemuMissing).map((r) =>
      `<p><small>* ${esc(r.name)}: ${esc(r.qemuMissing!)}</small></p>`
    ).join("\n")
  }
</body></html>
`;
}
