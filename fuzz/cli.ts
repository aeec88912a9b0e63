// `deno task fuzz`: elfuse against bad input. Three campaigns, each seeded and reproducible:
// mutated ELF programs (fuzz/elf.ts), seeded random syscalls with garbage arguments, and every
// implemented syscall with every argument at each extreme value (fuzz/syscalls.ts). Every guest
// runs in a throw-away sandbox (fuzz/sandbox.ts). Exit status 0: no findings; 1: findings (each
// with its reproducer); 2: usage.
//
//   deno task fuzz              the long run: 1,400 ELF mutants, 50,000 random syscalls, extremes
//   deno task fuzz --quick      the fixed-seed run of ./dev test (about half a minute)
//   deno task fuzz --replay SPEC   rerun one finding (the SPEC each finding prints)
import { parseArgs } from "../runtime/deps.ts";
import { describeElf, elfBases, type ElfFinding, fuzzElf, judgeMutant, runMutant } from "./elf.ts";
import { apply, describeRecipe, recipe } from "./elf_mutator.ts";
import { openSandbox, type Sandbox } from "./sandbox.ts";
import {
  describe,
  type FuzzMode,
  fuzzSyscalls,
  replaySyscalls,
  type SyscallCampaign,
  type SyscallFinding,
} from "./syscalls.ts";

export interface FuzzOptions {
  seed: number;
  /** Extreme values each argument gets alone in the extremes walk (of 15). */
  extremesPerArg: number;
  /** Mutants per base program (four bases). */
  elfMutants: number;
  /** Random syscalls in all (chunks of CALLS_PER_CHUNK). */
  syscalls: number;
  /** Run the extremes walk. */
  extremes: boolean;
  fork: "inline" | "process";
}

export const CALLS_PER_CHUNK = 200;

/** The fixed-seed run ./dev test makes (fuzz/fuzz_test.ts). */
export const QUICK: FuzzOptions = {
  seed: 1,
  extremesPerArg: 5,
  elfMutants: 6,
  syscalls: 2_000,
  extremes: true,
  fork: "process",
};

/** The long run: the size of the campaign the issue reported. */
export const LONG: Omit<FuzzOptions, "seed"> = {
  extremesPerArg: 15,
  elfMutants: 350,
  syscalls: 50_000,
  extremes: true,
  fork: "process",
};

export interface FuzzReport {
  elf: { mutants: number; refused: number; ran: number; findings: ElfFinding[] };
  syscalls: { runs: number; calls: number; findings: SyscallFinding[] };
  extremes: { runs: number; calls: number; findings: SyscallFinding[] };
  ms: number;
}

export function syscallCampaign(o: FuzzOptions, mode: FuzzMode): SyscallCampaign {
  return mode === "extremes"
    ? {
      mode,
      seed: o.seed,
      firstChunk: 0,
      chunks: 512,
      callsPerChunk: 8, // planned syscalls per child
      chunksPerRun: 80,
      stallMs: 500,
      fork: "inline",
      implementedOnly: true,
      extremesPerArg: o.extremesPerArg,
    }
    : {
      mode,
      seed: o.seed,
      firstChunk: 0,
      chunks: Math.ceil(o.syscalls / CALLS_PER_CHUNK),
      callsPerChunk: CALLS_PER_CHUNK,
      chunksPerRun: 10,
      stallMs: 500,
      fork: o.fork,
    };
}

/** Runs the campaigns o asks for in one sandbox. */
export async function runFuzz(
  o: FuzzOptions,
  progress: (line: string) => void = () => {},
): Promise<FuzzReport> {
  const t0 = performance.now();
  const sb = openSandbox();
  // Ctrl-C or a kill: the runs' processes and the temporary directory go too.
  const stop = () => {
    sb.close();
    Deno.exit(130);
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    if (sb.unprivileged) progress("fuzz: started as root: guests run as nobody");
    const elf = o.elfMutants > 0
      ? await fuzzElf(sb, { seed: o.seed, mutants: o.elfMutants, timeoutMs: 8_000 }, progress)
      : { mutants: 0, refused: 0, ran: 0, findings: [] };
    const none = { runs: 0, calls: 0, findings: [] };
    const syscalls = o.syscalls > 0
      ? await fuzzSyscalls(sb, syscallCampaign(o, "random"), progress)
      : none;
    const extremes = o.extremes
      ? await fuzzSyscalls(sb, syscallCampaign(o, "extremes"), progress)
      : none;
    return { elf, syscalls, extremes, ms: performance.now() - t0 };
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    sb.close();
  }
}

export function summary(r: FuzzReport, o: FuzzOptions): string {
  const lines = [
    `fuzz seed ${o.seed} in ${(r.ms / 1000).toFixed(1)} s`,
    `  ELF mutants: ${r.elf.mutants} (${r.elf.refused} refused, ${r.elf.ran} ran), ${r.elf.findings.length} finding(s)`,
    `  random syscalls: ${r.syscalls.calls} in ${r.syscalls.runs} run(s), ${r.syscalls.findings.length} finding(s)`,
    `  extremes walk: ${r.extremes.calls} calls in ${r.extremes.runs} run(s), ${r.extremes.findings.length} finding(s)`,
  ];
  for (const f of r.elf.findings) lines.push(`FINDING ${describeElf(f)}`);
  for (const f of [...r.syscalls.findings, ...r.extremes.findings]) {
    lines.push(`FINDING ${describe(f)}`);
  }
  return lines.join("\n");
}

/** `elf:SEED:INDEX:BASE` or `MODE:SEED:CHUNK:I,J,...` (MODE random or extremes). */
async function replay(spec: string, fork: "inline" | "process"): Promise<number> {
  const [kind, seedText, at, rest] = spec.split(":");
  const seed = Number(seedText);
  const sb: Sandbox = openSandbox();
  try {
    if (kind === "elf") {
      const base = elfBases().find((b) => b.name === rest);
      if (!base) throw new UsageError(`no base program named ${rest}`);
      const edits = recipe(seed, Number(at), base);
      console.log(`${base.name}: ${describeRecipe(edits)}`);
      const r = await runMutant(sb, base, apply(base.bytes, edits), 8_000);
      console.log(`status ${r.code ?? r.signal}${r.timedOut ? " (timed out)" : ""}\n${r.stderr}`);
      const failures = judgeMutant(r);
      for (const f of failures) console.log(`FAIL ${f.kind}: ${f.detail}`);
      return failures.length ? 1 : 0;
    }
    if (kind !== "random" && kind !== "extremes") throw new UsageError(`bad replay spec ${spec}`);
    const calls = (rest ?? "").split(",").filter((x) => x !== "").map(Number);
    const o = { ...QUICK, seed, fork };
    const c = syscallCampaign(o, kind);
    const { result, failures } = await replaySyscalls(sb, { ...c, fork }, Number(at), calls);
    console.log(`status ${result.code ?? result.signal}\n${result.stderr}`);
    for (const f of failures) console.log(`FAIL ${f.kind}: ${f.detail}`);
    return failures.length ? 1 : 0;
  } finally {
    sb.close();
  }
}

class UsageError extends Error {}

const USAGE = `usage: deno task fuzz [--quick] [--seed N] [--elf N] [--syscalls N] [--no-extremes]
                      [--fork inline|process]
       deno task fuzz --replay SPEC [--fork inline|process]

  --quick          the fixed-seed run of ./dev test (seed 1, 24 ELF mutants, 2,000 syscalls)
  --seed N         the campaign's seed (default: from the clock, printed)
  --elf N          mutants per base program (4 bases; default 350)
  --syscalls N     random syscalls in all (default 50,000)
  --no-extremes    skip the walk of every implemented syscall with extreme arguments
  --fork MODE      how elfuse starts the random campaign's chunk children (default process)
  --replay SPEC    rerun one finding: elf:SEED:INDEX:BASE or random|extremes:SEED:CHUNK:I,J,...`;

export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        quick: { type: "boolean" },
        seed: { type: "string" },
        elf: { type: "string" },
        syscalls: { type: "string" },
        "no-extremes": { type: "boolean" },
        fork: { type: "string" },
        replay: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`fuzz: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const fork = values.fork ?? "process";
  if (fork !== "inline" && fork !== "process") {
    console.error(`fuzz: --fork takes inline or process\n${USAGE}`);
    return 2;
  }
  try {
    if (values.replay) return await replay(values.replay, fork);
    const base = values.quick ? QUICK : { ...LONG, seed: Date.now() % 1_000_000 };
    const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
    const o: FuzzOptions = {
      seed: num(values.seed, base.seed),
      extremesPerArg: base.extremesPerArg,
      elfMutants: num(values.elf, base.elfMutants),
      syscalls: num(values.syscalls, base.syscalls),
      extremes: !values["no-extremes"] && base.extremes,
      fork,
    };
    if (![o.seed, o.elfMutants, o.syscalls].every((n) => Number.isInteger(n) && n >= 0)) {
      throw new UsageError("--seed, --elf and --syscalls take whole numbers");
    }
    console.error(`fuzz: seed ${o.seed}`);
    const r = await runFuzz(o, (l) => console.error(l));
    console.log(summary(r, o));
    return r.elf.findings.length + r.syscalls.findings.length + r.extremes.findings.length ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`fuzz: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
