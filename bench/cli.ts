// `deno task bench [--quick] [--runs N] [--json FILE] [--html FILE] [--filter RE]`: elfuse against
// qemu-aarch64 on the same machine in the same run, median and spread of N runs each, and the
// ratio, marked unreliable when the runs spread too widely (bench/stats.ts); `--from FILE` renders
// an earlier --json result instead of measuring. The table and the page say whether the run was
// --quick, and the host and versions.
import { parseArgs } from "../runtime/deps.ts";
import { type BenchCase, benchCases, SYSROOT, X86_SYSROOT } from "./cases.ts";
import { withInputs } from "./inputs.ts";
import { V8_FLAGS_ARG } from "../runtime/v8_flags.ts";
import type { BenchRow, BenchRun } from "./report_html.ts";
import {
  perIterationRange,
  perIterationRatioRange,
  ratioRange,
  type Sample,
  unreliability,
} from "./stats.ts";

const root = new URL("../", import.meta.url).pathname;

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
  if (c.x86) {
    const x86 = ["--sysroot", `${root}${X86_SYSROOT}`];
    return {
      elfuse: [Deno.execPath(), ["run", "-A", `${root}cli.ts`, ...x86, bin, ...args]] as const,
      qemu: ["qemu-x86_64", [bin, ...args]] as const,
    };
  }
  const sysroot = c.sysroot ? [`${root}${SYSROOT}`] : [];
  return {
    elfuse: [
      Deno.execPath(),
      [
        "run",
        "-A",
        V8_FLAGS_ARG,
        `${root}cli.ts`,
        ...sysroot.flatMap((s) => ["--sysroot", s]),
        bin,
        ...args,
      ],
    ] as const,
    qemu: [QEMU, [...sysroot.flatMap((s) => ["-L", s]), bin, ...args]] as const,
  };
}

const QEMU = "qemu-aarch64";

function existsFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

async function hasQemu(): Promise<boolean> {
  try {
    return (await new Deno.Command(QEMU, { args: ["--version"], stdout: "null" })
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
        "       deno task bench --from JSON --html FILE   (a page from an earlier --json result)\n" +
        "--quick: 3 runs each and small inputs (rough; per-iteration costs especially). A ratio\n" +
        "whose runs allow values more than 2x apart is shown as unreliable, not as a number.",
    );
    return 0;
  }
  if (values.from !== undefined) {
    if (values.html === undefined) throw new Error("--from needs --html FILE");
    const saved = JSON.parse(Deno.readTextFileSync(values.from)) as Partial<BenchRun>;
    await writeHtml(values.html, {
      runs: saved.runs ?? 0,
      quick: saved.quick ?? false,
      startedAt: saved.startedAt ?? "unknown",
      environment: saved.environment,
      rows: saved.rows ?? [],
    });
    return 0;
  }
  const quick = values.quick === true;
  const runs = Number(values.runs ?? (quick ? 3 : 5));
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`--runs needs a whole number, not ${values.runs}`);
  }
  const filter = values.filter ? new RegExp(values.filter) : undefined;
  const qemu = await hasQemu();
  if (!qemu) console.error("bench: qemu-aarch64 not found; reporting elfuse alone");
  // qemu-user follows a fork+exec only through a faithful binfmt_misc entry (matrix/binfmt.ts).
  const { readExecFollowing } = await import("../matrix/binfmt.ts");
  const exec = await readExecFollowing();
  const { collectEnvironment } = await import("../matrix/environment.ts");
  const environment = await collectEnvironment(root.replace(/\/$/, ""), qemu ? QEMU : null);
  environment.binfmt = exec.message;
  const startedAt = new Date().toISOString();
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
    if (c.x86 && !existsFile(`${root}${X86_SYSROOT}/usr/bin/box64`)) {
      console.error(`bench: skipping ${c.name}: no box64 in ${X86_SYSROOT} (./dev setup)`);
      continue;
    }
    const args = withInputs(quick ? c.quickArgs : c.args, inputs, quick);
    const ops = c.perIteration ? Number(args[0]) : 0;
    const cmd = commands(c, args);
    // Progress: one rewritten line on a terminal, a line per benchmark elsewhere.
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        Deno.stderr.isTerminal() ? `\rbench: ${c.name}...\x1b[K` : `bench: ${c.name}\n`,
      ),
    );
    const e = await sample(cmd.elfuse[0], [...cmd.elfuse[1]], runs);
    const qemuMissing = !qemu
      ? "qemu-aarch64 not installed"
      : c.needsExec && exec.kind !== "faithful"
      ? `qemu-user cannot follow the exec here (${exec.message})`
      : undefined;
    const q = qemuMissing ? null : await sample(cmd.qemu[0], [...cmd.qemu[1]], runs);
    const row: Row = { name: c.name, elfuse: e, qemu: q, ratio: q ? e.median / q.median : null };
    if (qemuMissing) row.qemuMissing = qemuMissing;
    let range = q ? ratioRange(e, q) : undefined;
    let perIteration: { elfuse: [number, number]; qemu: [number, number] } | null = null;
    if (ops) {
      // Per-iteration cost: the same program with 1 iteration gives the fixed startup cost.
      const z = commands(c, ["1", ...args.slice(1)]);
      const e0 = await sample(z.elfuse[0], [...z.elfuse[1]], runs);
      row.perOpElfuseUs = ((e.median - e0.median) * 1000) / (ops - 1);
      if (q) {
        const q0 = await sample(z.qemu[0], [...z.qemu[1]], runs);
        row.perOpQemuUs = ((q.median - q0.median) * 1000) / (ops - 1);
        row.ratio = row.perOpElfuseUs / row.perOpQemuUs;
        perIteration = {
          elfuse: perIterationRange(e, e0, ops),
          qemu: perIterationRange(q, q0, ops),
        };
        range = perIterationRatioRange(perIteration.elfuse, perIteration.qemu);
      }
    }
    if (range) {
      row.ratioRange = range;
      const why = unreliability(range, perIteration);
      if (why) row.unreliable = why;
    }
    rows.push(row);
  }
  Deno.removeSync(inputs, { recursive: true });
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  const run: BenchRun = { runs, quick, startedAt, environment, rows };
  console.log(renderTable(run));
  if (values.json) {
    Deno.writeTextFileSync(values.json, JSON.stringify(run, null, 2) + "\n");
  }
  if (values.html) await writeHtml(values.html, run);
  return 0;
}

/** The text report: what kind of run, where, the table, and why any ratio is unreliable. */
export function renderTable(run: BenchRun): string {
  const f = (n: number) => n.toFixed(1).padStart(8);
  const lines = [
    run.quick
      ? `bench: a --quick run (${run.runs} runs each, small inputs): ratios are rough`
      : `bench: a full run (${run.runs} runs each)`,
  ];
  const env = run.environment;
  if (env) {
    lines.push(
      `elfuse ${env.elfuse}; deno ${env.deno.split(" ")[0]}; libunicorn ${env.libunicorn}`,
      `${env.qemu}; ${env.host}`,
    );
  }
  lines.push(
    `${"benchmark".padEnd(30)} ${"elfuse ms".padStart(10)} ${
      "qemu ms".padStart(10)
    }  per-iter elfuse/qemu µs   ratio`,
  );
  for (const r of run.rows) {
    const per = r.perOpElfuseUs !== undefined
      ? `${r.perOpElfuseUs.toFixed(3)}/${r.perOpQemuUs?.toFixed(3) ?? "-"}`.padStart(20)
      : "".padStart(20);
    const ratio = r.ratio === null ? "-" : r.unreliable ? "unreliable" : `${r.ratio.toFixed(2)}x`;
    lines.push(
      `${r.name.padEnd(30)} ${f(r.elfuse.median)}  ${
        r.qemu ? f(r.qemu.median) : "       -"
      }  ${per}   ${ratio}`,
    );
  }
  lines.push(
    `(median of ${run.runs} runs after a warm-up; ratio = elfuse/qemu, per iteration for loops)`,
  );
  for (const r of run.rows) {
    if (r.unreliable) lines.push(`unreliable ${r.name}: ${r.unreliable}`);
    if (r.qemuMissing) lines.push(`no qemu ${r.name}: ${r.qemuMissing}`);
  }
  return lines.join("\n");
}

async function writeHtml(path: string, run: BenchRun): Promise<void> {
  const { benchHtml } = await import("./report_html.ts");
  Deno.writeTextFileSync(path, benchHtml(run));
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
