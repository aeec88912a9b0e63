import assert from "node:assert/strict";
import { renderTable } from "./cli.ts";
import { benchHtml, type BenchRow, type BenchRun, ratioChart } from "./report_html.ts";

const row = (name: string, ratio: number | null, extra: Partial<BenchRow> = {}): BenchRow => ({
  name,
  elfuse: { median: 10, min: 9, max: 12 },
  qemu: ratio === null ? null : { median: 10 / ratio, min: 1, max: 20 },
  ratio,
  ...extra,
});

const run = (rows: BenchRow[], quick = false): BenchRun => ({
  runs: quick ? 3 : 5,
  quick,
  startedAt: "1970-01-01T00:00:00.000Z",
  environment: {
    elfuse: "0.1.0, commit abc",
    deno: "2.9.6 (v8 1, typescript 2)",
    libunicorn: "2.1.4 (/lib/libunicorn.so.2)",
    qemu: "qemu-aarch64 version 7.2.22",
    host: "linux/x86_64, 2 CPUs",
    binfmt: "no binfmt_misc entry for aarch64 programs",
  },
  rows,
});

Deno.test("bench chart: one bar per measured ratio, longer for slower, names escaped", () => {
  const svg = ratioChart([row("fast <x>", 0.5), row("slow", 8), row("no reference", null)]);
  const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 2);
  assert.ok(widths[1] > widths[0]);
  assert.match(svg, /fast &lt;x&gt;: 0\.50x/);
  assert.doesNotMatch(svg, /no reference/);
});

Deno.test("bench page: the kind of run, the environment, every row, no external resources", () => {
  const html = benchHtml(run([row("a", 2), row("b", null, { qemuMissing: "no exec here" })]));
  assert.match(html, /<svg /);
  assert.match(html, /<title>elfuse benchmarks \(full run\)<\/title>/);
  assert.match(html, /A full run: median of 5 runs/);
  assert.match(html, /<th>libunicorn<\/th><td>2\.1\.4/);
  assert.match(html, /<th>qemu-user<\/th><td>qemu-aarch64 version 7\.2\.22/);
  assert.equal([...html.matchAll(/<tr(?: class="unreliable")?><td>/g)].length, 2);
  assert.match(html, /no exec here/);
  assert.match(html, /1970-01-01/);
  assert.doesNotMatch(html, /<script|src=|href=/);
  const quick = benchHtml(run([row("a", 2)], true));
  assert.match(quick, /elfuse against qemu-aarch64 \(--quick run\)/);
  assert.match(quick, /A --quick run: median of 3 runs/);
});

Deno.test("an unreliable ratio is labelled so, in the table, the chart and the text", () => {
  const noisy = row("clock_gettime (vDSO)", 39.9, {
    unreliable: "the runs' spread exceeds the per-iteration difference (it could be zero)",
    ratioRange: [-1, 80],
  });
  const r = run([noisy, row("sha256", 0.99)], true);
  const html = benchHtml(r);
  assert.match(html, /<tr class="unreliable"><td>clock_gettime \(vDSO\)<\/td>.*<td>unreliable<br>/);
  assert.doesNotMatch(html, /39\.90x<\/td>/, "not shown as a finding");
  assert.match(ratioChart(r.rows), /fill="#bbb"><title>clock_gettime \(vDSO\): unreliable/);
  const text = renderTable(r);
  assert.match(text, /^bench: a --quick run \(3 runs each, small inputs\): ratios are rough$/m);
  assert.match(text, /^clock_gettime \(vDSO\) .* unreliable$/m);
  assert.match(text, /^sha256 .* 0\.99x$/m);
  assert.match(text, /^unreliable clock_gettime \(vDSO\): the runs' spread exceeds/m);
});
