// The syscall fuzzer: a static guest (fixtures/fuzz/syscall_fuzz.c) issues seeded random syscalls
// with garbage arguments, a forked child per chunk, under elfuse -v; this side runs it in the
// sandbox, judges each run, and minimises a failure to the fewest calls that still show it.
import { binaryPath } from "../fixtures/build.ts";
import { commonFailures, type Failure, FAULT_NOTE } from "./judge.ts";
import { type PlanEntry, planText, syscallPlan } from "./plan.ts";
import type { RunResult, Sandbox } from "./sandbox.ts";

export type FuzzMode = "random" | "extremes";

export interface SyscallCampaign {
  mode: FuzzMode;
  seed: number;
  /** random: chunks of `callsPerChunk` calls; extremes: planned numbers (one chunk each). */
  firstChunk: number;
  chunks: number;
  callsPerChunk: number;
  /** Chunks per elfuse run (a run that fails loses only its own chunks). */
  chunksPerRun: number;
  /** A call that takes longer than this is a stall: its child is killed and the next goes on. */
  stallMs: number;
  /** How elfuse starts the guest's chunk children (ELFUSE_FORK). */
  fork: "inline" | "process";
  /** extremes: only syscalls elfuse implements (a missing one answers ENOSYS whatever it gets). */
  implementedOnly?: boolean;
  /**
   * extremes: how many of the 15 extreme values each argument gets alone (all of them, always,
   * in every argument at once). `callsPerChunk` then counts planned syscalls per child.
   */
  extremesPerArg?: number;
}

export interface SyscallFinding extends Failure {
  mode: FuzzMode;
  seed: number;
  chunk: number;
  /** The call indexes that reproduce it (empty when it could not be pinned down). */
  calls: number[];
  /** The guest's log lines for those calls: `fuzz: call C.I NR A0..A5`. */
  callLines: string[];
  /** The command that replays it. */
  replay: string;
}

/** Extreme-value variants per planned syscall (syscall_fuzz.c: NEXTREMES * 7). */
export const EXTREME_VARIANTS = 15 * 7;

export interface SyscallStats {
  runs: number;
  calls: number;
  findings: SyscallFinding[];
}

const GUEST = "syscall_fuzz";

/**
 * Left to the random campaign: a clone that succeeds starts a process or thread per variant
 * (each a stall or a Deno start-up when it moves out of its parent), for argument checks the
 * random calls reach as well.
 */
const RANDOM_ONLY = new Set(["clone", "clone3"]);

function planFor(c: Pick<SyscallCampaign, "mode" | "implementedOnly">): PlanEntry[] {
  const plan = syscallPlan();
  if (c.mode !== "extremes") return plan;
  return plan.filter((e) =>
    (e.implemented || !c.implementedOnly) && !RANDOM_ONLY.has(e.name) && !e.offLimits
  );
}

/** Runs the guest once over `chunks` chunks from `first`, or replays listed calls of one chunk. */
function runGuest(
  sb: Sandbox,
  c: SyscallCampaign,
  first: number,
  chunks: number,
  replay?: number[],
): Promise<RunResult> {
  const dir = sb.workdir("sys");
  Deno.writeTextFileSync(`${dir}/plan`, planText(planFor(c)));
  // A copy of its own: /proc/self/exe names it, and a fuzzed open(O_TRUNC) of that must not
  // reach the build directory. Read-only for the unprivileged guest.
  Deno.copyFileSync(binaryPath(GUEST), `${dir}/${GUEST}`);
  Deno.chmodSync(`${dir}/${GUEST}`, 0o555);
  const mode = replay ? (c.mode === "extremes" ? "replay-extremes" : "replay") : c.mode;
  const calls = replay
    ? replay.length
    : chunks * (c.mode === "extremes" ? EXTREME_VARIANTS : c.callsPerChunk);
  return sb.run({
    elfuseArgs: [
      "-v",
      `./${GUEST}`,
      "--fuzz-guest",
      mode,
      String(c.seed),
      String(first),
      String(chunks),
      String(c.callsPerChunk),
      String(c.stallMs),
      ...(replay ?? (c.mode === "extremes" ? [c.extremesPerArg ?? 15] : [])).map(String),
    ],
    cwd: dir,
    env: c.fork === "process" ? { ELFUSE_FORK: "process" } : {},
    stdin: new TextEncoder().encode("fuzz stdin\n".repeat(64)),
    // Generous: a stall costs stallMs and a respawn; a run that passes this is a hang.
    timeoutMs: 60_000 + calls * 20 + chunks * 2_000,
  });
}

/** Everything wrong with one run of the guest. */
export function judgeGuestRun(r: RunResult): Failure[] {
  const found = commonFailures(r);
  if (r.signal !== undefined && !r.timedOut) {
    found.push({ kind: "host signal", detail: `elfuse ended by ${r.signal}` });
  }
  const gaveUp = /^fuzz: gave up: .*$/m.exec(r.stderr);
  if (gaveUp) found.push({ kind: "fuzzer gave up", detail: gaveUp[0] });
  if (!r.timedOut && r.signal === undefined && !/^fuzz: done \d+ calls$/m.test(r.stderr)) {
    if (found.length === 0) {
      const last = r.stderr.trimEnd().split("\n").slice(-1)[0] ?? "";
      found.push({ kind: "host signal", detail: `ended early (exit ${r.code}): ${last}` });
    }
  }
  // A chunk child dying of a fault signal is the guest's doing only if it faulted (elfuse -v
  // then says so) or had sent itself signals or set limits.
  const lines = r.stderr.split("\n");
  let sawFault = false;
  for (const line of lines) {
    if (/^fuzz: chunk \d+ pid/.test(line)) sawFault = false;
    if (FAULT_NOTE.test(line)) sawFault = true;
    const m = /^fuzz: chunk (\d+) ended by signal (\d+) at (\d+)$/.exec(line);
    if (m && FAULT_NUMBERS.has(Number(m[2])) && !sawFault) {
      found.push({ kind: "host signal", detail: line });
    }
  }
  return found;
}

/** SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS on Linux. */
const FAULT_NUMBERS = new Set([4, 5, 6, 7, 8, 11, 31]);

/** The last call the guest logged before `marker` in the output, as [chunk, index, line]. */
function callBefore(stderr: string, marker: string): [number, number, string] | undefined {
  const at = marker ? stderr.indexOf(marker) : stderr.length;
  const before = stderr.slice(0, at < 0 ? stderr.length : at);
  const all = [...before.matchAll(/^fuzz: call (\d+)\.(\d+) .*$/gm)];
  const last = all[all.length - 1];
  return last ? [Number(last[1]), Number(last[2]), last[0]] : undefined;
}

/** Runs a campaign; calls `progress` after each run. */
export async function fuzzSyscalls(
  sb: Sandbox,
  c: SyscallCampaign,
  progress: (line: string) => void = () => {},
): Promise<SyscallStats> {
  const stats: SyscallStats = { runs: 0, calls: 0, findings: [] };
  const planned = planFor(c).length;
  const last = c.mode === "extremes"
    ? Math.min(c.firstChunk + c.chunks, planned)
    : c.firstChunk + c.chunks;
  for (let first = c.firstChunk; first < last; first += c.chunksPerRun) {
    const n = Math.min(c.chunksPerRun, last - first);
    const r = await runGuest(sb, c, first, n);
    stats.runs++;
    stats.calls += r.stderr.match(/^fuzz: call /gm)?.length ?? 0; // the calls made
    const failures = judgeGuestRun(r);
    for (const f of dedupe(failures)) {
      if (stats.findings.some((g) => g.kind === f.kind && g.detail === f.detail)) continue;
      const finding = await minimise(sb, c, r, f);
      stats.findings.push(finding);
      progress(`FAIL ${describe(finding)}`);
    }
    progress(
      `syscalls ${c.mode} seed ${c.seed} chunks ${first}-${first + n - 1}: ${
        failures.length ? `${failures.length} failure(s)` : "ok"
      } (${Math.round(r.ms)} ms)`,
    );
  }
  return stats;
}

function dedupe(fs: Failure[]): Failure[] {
  const seen = new Set<string>();
  return fs.filter((f) => {
    const key = `${f.kind}:${f.detail.replace(/\d+/g, "N")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Pins a failure down: the call the guest logged last before it, alone; failing that, the
 * shortest run of calls ending with it that still fails the same way.
 */
async function minimise(
  sb: Sandbox,
  c: SyscallCampaign,
  r: RunResult,
  f: Failure,
): Promise<SyscallFinding> {
  const marker = f.kind === "hang" || f.kind === "stray process" ? "" : f.detail;
  const at = callBefore(r.stderr, marker);
  const base = { ...f, mode: c.mode, seed: c.seed };
  if (at === undefined) {
    return { ...base, chunk: -1, calls: [], callLines: [], replay: "(not attributable to a call)" };
  }
  const [chunk, index, line] = at;
  const fails = async (calls: number[]) => {
    const rr = await runGuest(sb, c, chunk, 1, calls);
    return judgeGuestRun(rr).some((g) => g.kind === f.kind) ? rr : undefined;
  };
  const first = c.mode === "extremes" ? index - (index % EXTREME_VARIANTS) : 0;
  let calls: number[] | undefined;
  if (await fails([index])) calls = [index];
  else {
    // Longer and longer runs of calls before it, up to the whole chunk.
    for (let n = 2; index - n + 1 >= first && n <= 1 << 14; n *= 4) {
      const span = Array.from({ length: n }, (_, i) => index - n + 1 + i);
      if (await fails(span)) {
        calls = span;
        break;
      }
    }
  }
  const lines = calls === undefined ? [line] : await callLines(sb, c, chunk, calls);
  return {
    ...base,
    chunk,
    calls: calls ?? [],
    callLines: lines,
    replay: `deno task fuzz --replay ${c.mode}:${c.seed}:${chunk}:${(calls ?? [index]).join(",")}${
      c.fork === "process" ? " --fork process" : ""
    }`,
  };
}

async function callLines(
  sb: Sandbox,
  c: SyscallCampaign,
  chunk: number,
  calls: number[],
): Promise<string[]> {
  const r = await runGuest(sb, c, chunk, 1, calls.slice(-8));
  const names = new Map(syscallPlan().map((e) => [e.nr, e.name]));
  return [...r.stderr.matchAll(/^fuzz: call (\d+\.\d+) (\d+) (.*)$/gm)].map((m) =>
    `${m[1]} ${names.get(Number(m[2])) ?? "?"}(${m[3].split(" ").join(", ")})`
  );
}

/** Replays listed calls of one chunk and returns what was wrong (none: it passes now). */
export async function replaySyscalls(
  sb: Sandbox,
  c: SyscallCampaign,
  chunk: number,
  calls: number[],
): Promise<{ result: RunResult; failures: Failure[] }> {
  const result = await runGuest(sb, c, chunk, 1, calls);
  return { result, failures: judgeGuestRun(result) };
}

export function describe(f: SyscallFinding): string {
  return `${f.kind}: ${f.detail}\n  calls: ${f.callLines.join("; ") || "-"}\n  replay: ${f.replay}`;
}
