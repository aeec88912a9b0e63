// `deno task bench --html FILE`: one self-contained page (no scripts, no external files) with
// the results table and a bar chart of the ratios on a log scale, 1x marked.

/** One benchmark's result, as bench/cli.ts measures it. */
export interface BenchRow {
  name: string;
  elfuse: { median: number; min: number; max: number };
  qemu: { median: number; min: number; max: number } | null;
  ratio: number | null;
  perOpElfuseUs?: number;
  perOpQemuUs?: number;
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

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
    const colour = r.ratio! <= 1 ? "#3a7" : r.ratio! <= 3 ? "#da3" : "#c44";
    return `<text x="${label - 8}" y="${y + 15}" font-size="12" text-anchor="end">${
      esc(r.name)
    }</text><rect x="${x(0.1)}" y="${y + 4}" width="${w}" height="${bar - 8}" fill="${colour}">` +
      `<title>${esc(r.name)}: ${r.ratio!.toFixed(2)}x</title></rect>` +
      `<text x="${x(0.1) + w + 4}" y="${y + 15}" font-size="11">${r.ratio!.toFixed(2)}x</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    label + width + 60
  }" height="${height}" role="img" aria-label="elfuse/qemu ratios">${ticks.join("")}${
    bars.join("")
  }</svg>`;
}

/** The whole page. */
export function benchHtml(rows: BenchRow[], runs: number, when = new Date()): string {
  const ms = (n: number) => n.toFixed(1);
  const body = rows.map((r) =>
    `<tr><td>${esc(r.name)}</td><td>${ms(r.elfuse.median)} (${ms(r.elfuse.min)}-${
      ms(r.elfuse.max)
    })</td><td>${
      r.qemu ? `${ms(r.qemu.median)} (${ms(r.qemu.min)}-${ms(r.qemu.max)})` : "-"
    }</td>` +
    `<td>${
      r.perOpElfuseUs !== undefined
        ? `${r.perOpElfuseUs.toFixed(3)} / ${r.perOpQemuUs?.toFixed(3) ?? "-"}`
        : ""
    }</td><td>${r.ratio?.toFixed(2) ?? "-"}x</td></tr>`
  );
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>elfuse benchmarks</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}</style>
</head><body>
<h1>elfuse against qemu-aarch64</h1>
<p>${esc(when.toISOString())}: median of ${runs} runs after a warm-up each; ratio = elfuse/qemu
(per iteration for loops). Green: faster than qemu-user; amber: up to 3x; red: more.</p>
${ratioChart(rows)}
<table><tr><th>benchmark</th><th>elfuse ms (min-max)</th><th>qemu ms (min-max)</th>
<th>per iteration µs, elfuse / qemu</th><th>ratio</th></tr>
${body.join("\n")}
</table></body></html>
`;
}
