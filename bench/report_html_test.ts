import assert from "node:assert/strict";
import { benchHtml, type BenchRow, ratioChart } from "./report_html.ts";

const row = (name: string, ratio: number | null): BenchRow => ({
  name,
  elfuse: { median: 10, min: 9, max: 12 },
  qemu: ratio === null ? null : { median: 10 / ratio, min: 1, max: 20 },
  ratio,
});

Deno.test("bench chart: one bar per measured ratio, longer for slower, names escaped", () => {
  const svg = ratioChart([row("fast <x>", 0.5), row("slow", 8), row("no reference", null)]);
  const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 2);
  assert.ok(widths[1] > widths[0]);
  assert.match(svg, /fast &lt;x&gt;: 0\.50x/);
  assert.doesNotMatch(svg, /no reference/);
});

Deno.test("bench page: the table has every row, the chart and no external resources", () => {
  const html = benchHtml([row("a", 2), row("b", null)], 5, new Date(0));
  assert.match(html, /<svg /);
  assert.equal([...html.matchAll(/<tr><td>/g)].length, 2);
  assert.match(html, /1970-01-01/);
  assert.doesNotMatch(html, /<script|src=|href=/);
});
