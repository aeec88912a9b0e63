// `deno task bench [--quick] [--runs N] [--json FILE] [--html FILE] [--filter RE]`: elfuse against
// qemu-aarch64 on the same machine in the same run, median and spread of N runs each, and the
// ratio; `--from FILE` renders an earlier --json result instead of measuring.
import { parseArgs } from "../runtime/deps.ts";
import { type BenchCase, benchCases, SYSROOT } from "./cases.ts";
import { withInputs } from "./inputs.ts";
import type { BenchRow } from "./report_html.ts";

const root = new URL("../", import.meta.url).pathname;

interface Sample {
  median: number;
  min: number;
  max: number;
}

type Row = BenchRow;

async function timeOnce(cmd: string, args: string[]): Promise<number> {
  const t = performance.now();
  const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped", stdin: "null" })
    .output();
  const ms = performance.now() - t;
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${r.code}): ${
        new TextDecoder().decode(r.stderr).slice(0, 300)
      }`,
    );
  }
  return ms;
}

async function sample(cmd: string, args: string[], runs: number): Promise<Sample> {
  await timeOnce(cmd, args); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) t.push(await timeOnce(cmd, args));
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)], min: t[0], max: t[t.length - 1] };
}

function commands(c: BenchCase, args: string[]) {
  const bin = `${root}${c.programPath ?? `fixtures/build/${c.program}`}`;
  // Relative program arguments (fork+exec's target) are paths from the repository root.
  args = args.map((a) => (a.startsWith("fixtures/") ? `${root}${a}` : a));
  const sysroot = c.sysroot ? [`${root}${SYSROOT}`] : [];
  return {
    elfuse: [
      Deno.execPath(),
      ["run", "-A", `${root}cli.ts`, ...sysroot.flatMap((s) => ["--sysroot", s]), bin, ...args],
    ] as const,
    qemu: ["qemu-aarch64", [...sysroot.flatMap((s) => ["-L", s]), bin, ...args]] as const,
  };
}

async function hasQemu(): Promise<boolean> {
  try {
    return (await new Deno.Command("qemu-aarch64", { args: ["--version"], stdout: "null" })
      .output()).code === 0;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      runs: { type: "string" },
      json: { type: "string" },
      html: { type: "string" },
      from: { type: "string" },
      filter: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task bench [--quick] [--runs N] [--json FILE] [--html FILE] [--filter REGEX]\n" +
        "       deno task bench --from JSON --html FILE   (a page from an earlier --json result)",
    );
    return 0;
  }
  if (values.from !== undefined) {
    if (values.html === undefined) throw new Error("--from needs --html FILE");
    const saved = JSON.parse(Deno.readTextFileSync(values.from)) as { runs: number; rows: Row[] };
    await writeHtml(values.html, saved.rows, saved.runs);
    return 0;
  }
  const runs = Number(values.runs ?? (values.quick ? 3 : 5));
  const filter = values.filter ? new RegExp(values.filter) : undefined;
  const qemu = await hasQemu();
  if (!qemu) console.error("bench: qemu-aarch64 not found; reporting elfuse alone");
  const rows: Row[] = [];
  const inputs = Deno.makeTempDirSync({ prefix: "elfuse-bench-" });
  for (const c of benchCases) {
    if (filter && !filter.test(c.name)) continue;
    try {
      Deno.statSync(`${root}${c.programPath ?? `fixtures/build/${c.program}`}`);
    } catch {
      console.error(
        `bench: skipping ${c.name}: fixtures/build/${c.program} is missing (deno task fixtures)`,
      );
      continue;
    }
    const args = withInputs(values.quick ? c.quickArgs : c.args, inputs, values.quick === true);
    const ops = c.perIteration ? Number(args[0]) : 0;
    const cmd = commands(c, args);
    // Progress: one rewritten line on a terminal, a line per benchmark elsewhere.
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        Deno.stderr.isTerminal() ? `\rbench: ${c.name}...\x1b[K` : `bench: ${c.name}\n`,
      ),
    );
    const e = await sample(cmd.elfuse[0], [...cmd.elfuse[1]], runs);
    // qemu-user cannot follow an execve of another aarch64 program without binfmt_misc.
    const q = qemu && !c.needsExec ? await sample(cmd.qemu[0], [...cmd.qemu[1]], runs) : null;
    const row: Row = { name: c.name, elfuse: e, qemu: q, ratio: q ? e.median / q.median : null };
    if (ops) {
      // Per-iteration cost: the same program with 1 iteration gives the fixed startup cost.
      const z = commands(c, ["1", ...args.slice(1)]);
      const e0 = await sample(z.elfuse[0], [...z.elfuse[1]], runs);
      row.perOpElfuseUs = ((e.median - e0.median) * 1000) / (ops - 1);
      if (q && !c.needsExec) {
        const q0 = await sample(z.qemu[0], [...z.qemu[1]], runs);
        row.perOpQemuUs = ((q.median - q0.median) * 1000) / (ops - 1);
        row.ratio = row.perOpElfuseUs / row.perOpQemuUs;
      }
    }
    rows.push(row);
  }
  Deno.removeSync(inputs, { recursive: true });
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  const f = (n: number) => n.toFixed(1).padStart(8);
  console.log(
    `${"benchmark".padEnd(30)} ${"elfuse ms".padStart(10)} ${
      "qemu ms".padStart(10)
    }  per-iter elfuse/qemu µs   ratio`,
  );
  for (const r of rows) {
    const per = r.perOpElfuseUs !== undefined
      ? `${r.perOpElfuseUs.toFixed(3)}/${r.perOpQemuUs?.toFixed(3) ?? "-"}`.padStart(20)
      : "".padStart(20);
    console.log(
      `${r.name.padEnd(30)} ${f(r.elfuse.median)}  ${
        r.qemu ? f(r.qemu.median) : "       -"
      }  ${per}   ${r.ratio?.toFixed(2) ?? "-"}x`,
    );
  }
  console.log(
    `(median of ${runs} runs after a warm-up; ratio = elfuse/qemu, per iteration for loops)`,
  );
  if (values.json) {
    Deno.writeTextFileSync(values.json, JSON.stringify({ runs, rows }, null, 2) + "\n");
  }
  if (values.html) await writeHtml(values.html, rows, runs);
  return 0;
}

async function writeHtml(path: string, rows: Row[], runs: number): Promise<void> {
  const { benchHtml } = await import("./report_html.ts");
  Deno.writeTextFileSync(path, benchHtml(rows, runs));
  console.error(`bench: wrote ${path}`);
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`bench: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(1);
  }
}
