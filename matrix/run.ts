/**
 * Running the matrix: for each case, a fresh temporary working directory per runner with the
 * case's files (fixed contents, modes and mtimes), the steps run by the subject (elfuse) and then
 * by the reference, the results compared, and a verdict given with the known differences in mind.
 * Cases run `jobs` at a time.
 *
 * @module
 */

import process from "node:process";
import { lutimes } from "node:fs/promises";
import { checkAlone, checkExpected, compareResults, judgeableAlone } from "./compare.ts";
import { findEntry, judge, KNOWN_FILE, staleEntries } from "./known.ts";
import { reproduction } from "./reproduce.ts";
import { bytes, sha256, shellQuote } from "./status.ts";
import {
  type Case,
  DEFAULT_MTIME,
  type Difference,
  type FileSpec,
  type KnownDifference,
  type MatrixResult,
  type Observed,
  type Outcome,
  type Runner,
  type RunResult,
  type Verdict,
} from "./types.ts";

/** Every guest's environment, before the case's own `env`: fixed, so output is reproducible. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  HOME: "/",
  LANG: "C",
  LC_ALL: "C",
  PATH: "/usr/local/bin:/usr/bin:/bin",
  TERM: "dumb",
  TZ: "UTC",
};

/** The umask the matrix sets for itself, inherited by every runner and guest. */
export const UMASK = 0o022;

/** The default per-step timeout of a case that names none, in seconds. */
export const DEFAULT_TIMEOUT = 60;

/**
 * The guest environment of a case: the base one plus its own, sorted by name.
 *
 * @example
 * ```ts
 * const env = caseEnv(someCase); // BASE_ENV plus the case's own, sorted
 * console.log(env.LC_ALL);
 * ```
 */
export function caseEnv(c: Case): Record<string, string> {
  const all = { ...BASE_ENV, ...c.env };
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A shell-like rendering of a case's steps, for reports. */
export function commandLine(c: Case): string {
  const prog = c.program.split("/").pop() ?? c.program;
  return c.steps.map((s) =>
    [prog, ...s.args].map(shellQuote).join(" ") + (s.stdin ? " < stdin" : "")
  )
    .join(" && ");
}

function contentOf(spec: FileSpec): Uint8Array {
  const c = spec.content ?? "";
  return typeof c === "function" ? c() : bytes(c);
}

/**
 * Creates the case's files in `dir`, then fixes every mtime (files first, then directories).
 *
 * @example
 * ```ts
 * await createFiles(dir, [{ path: "in/a.txt", content: "a\n" }]);
 * ```
 */
export async function createFiles(dir: string, files: readonly FileSpec[] = []): Promise<void> {
  const stamped: { path: string; mtime: number; link: boolean }[] = [];
  const dirs = new Map<string, number>();
  for (const f of files) {
    const path = `${dir}/${f.path}`;
    const parent = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(parent, { recursive: true });
    const mtime = f.mtime ?? DEFAULT_MTIME;
    if (f.type === "dir") {
      await Deno.mkdir(path, { recursive: true });
      await Deno.chmod(path, f.mode ?? 0o755);
      dirs.set(path, mtime);
    } else if (f.type === "symlink") {
      await Deno.symlink(f.target ?? "", path);
      stamped.push({ path, mtime, link: true });
    } else {
      await Deno.writeFile(path, contentOf(f));
      await Deno.chmod(path, f.mode ?? 0o644);
      stamped.push({ path, mtime, link: false });
    }
  }
  for (const s of stamped) {
    if (s.link) await lutimes(s.path, s.mtime, s.mtime);
    else await Deno.utime(s.path, s.mtime, s.mtime);
  }
  // Implicit parents get the default mtime too; deepest first, so no later step disturbs them.
  for (const f of files) {
    let p = `${dir}/${f.path}`;
    while ((p = p.slice(0, p.lastIndexOf("/"))).length > dir.length) {
      if (!dirs.has(p)) dirs.set(p, DEFAULT_MTIME);
    }
  }
  const order = [...dirs.keys()].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const p of order) await Deno.utime(p, dirs.get(p)!, dirs.get(p)!);
  await Deno.utime(dir, DEFAULT_MTIME, DEFAULT_MTIME);
}

/**
 * The tree under `dir` as text, one entry a line in sorted order: path, type, mode, size and a
 * content hash for files, target for symlinks; with `withMtime`, regular files' mtimes in seconds
 * too (not those of directories and symlinks, which tools like tar leave at "now").
 *
 * @example
 * ```ts
 * const before = await snapshotDir(dir);
 * // ... run something in dir ...
 * console.log(before === await snapshotDir(dir) ? "unchanged" : "changed");
 * ```
 */
export async function snapshotDir(dir: string, withMtime = false): Promise<string> {
  const lines: string[] = [];
  const walk = async (rel: string) => {
    const names: string[] = [];
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) names.push(e.name);
    names.sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const path = `${dir}/${r}`;
      const st = await Deno.lstat(path);
      const mode = ((st.mode ?? 0) & 0o7777).toString(8).padStart(4, "0");
      const mtime = withMtime ? ` mtime=${Math.floor((st.mtime?.getTime() ?? 0) / 1000)}` : "";
      if (st.isSymlink) {
        lines.push(`${r} symlink -> ${await Deno.readLink(path)}`);
      } else if (st.isDirectory) {
        lines.push(`${r}/ dir ${mode}`);
        await walk(r);
      } else if (st.isFile) {
        const hash = (await sha256(await Deno.readFile(path))).slice(0, 16);
        lines.push(`${r} file ${mode} ${st.size} sha256:${hash}${mtime}`);
      } else {
        lines.push(`${r} other ${mode}`);
      }
    }
  };
  await walk("");
  return lines.join("\n") + (lines.length ? "\n" : "");
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Options of one case's run on one runner. */
export interface RunOnceOptions {
  /** Seconds per step, overriding the case's own. */
  timeout?: number;
  /** Where the temporary working directories go (default: the system's). */
  tempRoot?: string;
  /** Leave the working directory in place (its path is in the result). */
  keep?: boolean;
}

/**
 * Runs a case's steps on one runner in a fresh working directory, and folds the results.
 *
 * @example
 * ```ts
 * const observed = await runOnce(someCase, makeRunner("qemu-user", { repo: "." }), { timeout: 30 });
 * console.log(observed.status, new TextDecoder().decode(observed.stdout));
 * ```
 */
export async function runOnce(
  c: Case,
  runner: Runner,
  opts: RunOnceOptions = {},
): Promise<Observed> {
  const made = await Deno.makeTempDir({ dir: opts.tempRoot, prefix: "elfuse-matrix-" });
  const workdir = await Deno.realPath(made);
  try {
    await createFiles(workdir, c.files);
    const env = caseEnv(c);
    const results: RunResult[] = [];
    for (const step of c.steps) {
      const stdin = step.stdin === undefined
        ? undefined
        : typeof step.stdin === "function"
        ? step.stdin()
        : bytes(step.stdin);
      const r = await runner.run({
        program: c.program,
        args: step.args,
        stdin,
        cwd: workdir,
        env,
        timeoutSeconds: opts.timeout ?? c.timeout ?? DEFAULT_TIMEOUT,
        sysroot: c.sysroot,
      });
      results.push(r);
      if (r.status.kind !== "exit" || r.status.code !== 0) break;
    }
    const last = results[results.length - 1];
    return {
      runner: runner.name,
      status: last.status,
      stepsRun: results.length,
      stepsTotal: c.steps.length,
      stdout: concat(results.map((r) => r.stdout)),
      stderr: concat(results.map((r) => r.stderr)),
      files: c.snapshot ? await snapshotDir(workdir, c.snapshot === "with-mtime") : undefined,
      wallMs: results.reduce((n, r) => n + r.wallMs, 0),
      timedOut: results.some((r) => r.timedOut),
      workdir,
    };
  } finally {
    if (!opts.keep) await Deno.remove(workdir, { recursive: true }).catch(() => {});
  }
}

/** Options of {@linkcode runCase}. */
export interface CaseOptions extends RunOnceOptions {
  /** The known differences (normally those of known_differences.ts). */
  known?: readonly KnownDifference[];
  /** The matrix command for the reports' reproduce lines (default `deno task matrix`). */
  matrixCommand?: string;
}

/**
 * Runs one case on the subject and the reference, and judges it.
 *
 * A case that judges itself (a self-check, an expected output) is judged on the subject alone
 * when the reference cannot run it (an exec it cannot follow) or when a known-difference entry
 * says the reference is wrong there (`judgeAlone`); the outcome's `judgedAlone` says why. Then
 * only entries for any reference (`*`) apply: those for one reference describe how that
 * reference differs, which a run without it cannot show.
 *
 * @example
 * ```ts
 * const outcome = await runCase(someCase, subject, reference);
 * console.log(outcome.verdict, outcome.differences.map((d) => d.summary));
 * ```
 */
export async function runCase(
  c: Case,
  subject: Runner,
  reference: Runner | null,
  opts: CaseOptions = {},
): Promise<Outcome> {
  const base = { case: c.name, group: c.group, command: commandLine(c), differences: [] };
  const skip = (reason: string): Outcome => ({ ...base, verdict: "skip", reason });
  if (c.skip) return skip(c.skip);
  const subjectCannot = await subject.cannotRun(c);
  if (subjectCannot) return skip(`${subject.name} cannot run it: ${subjectCannot}`);
  const entry = findEntry(opts.known ?? [], c.name, reference?.name ?? "none");
  const alone = judgeableAlone(c);
  const execs = c.needsExec === true || c.mayExec === true;
  const stateBefore = execs ? await reference?.execState?.() : undefined;
  let refCannot = reference ? await reference.cannotRun(c) : "no reference runner on this host";
  if (refCannot && !alone) return skip(refCannot);
  const s = await runOnce(c, subject, opts);
  let r = reference && !refCannot ? await runOnce(c, reference, opts) : undefined;
  if (r && stateBefore !== undefined) {
    // Another run on this machine may register or remove binfmt_misc entries at any time.
    const after = await reference!.execState!();
    if (after !== stateBefore) {
      refCannot = `binfmt_misc changed while the case ran (from "${stateBefore}" to "${after}")`;
      if (!alone) return skip(refCannot);
      r = undefined;
    }
  }
  let differences: Difference[];
  let judged: { verdict: Verdict; reason: string };
  let judgedAlone: string | undefined;
  if (r === undefined) {
    differences = checkAlone(c, s);
    judged = judge(
      differences,
      entry?.reference === "*" && !entry.judgeAlone ? entry : undefined,
      s.timedOut === true,
    );
    if (reference) judgedAlone = `judged on ${subject.name} alone: ${refCannot}`;
  } else if (entry?.judgeAlone && alone && subject.name !== reference!.name) {
    // (Against itself, as in --elfuse-runner qemu-user, the reference's bug is on both sides.)
    differences = checkAlone(c, s);
    judgedAlone = `judged on ${subject.name} alone: known ${reference!.name} bug: ${entry.reason}`;
    const referenceStillWrong = compareResults(c, s, r).length > 0 ||
      checkExpected(c, r, "reference").length > 0;
    judged = differences.length > 0
      ? { verdict: "fail", reason: differences[0].summary }
      : !referenceStillWrong && !entry.intermittent
      ? {
        verdict: "fixed",
        reason: `fixed — ${reference!.name} no longer shows this bug: remove the entry from ` +
          KNOWN_FILE,
      }
      : { verdict: "pass", reason: "" };
  } else {
    differences = [
      ...compareResults(c, s, r),
      ...checkExpected(c, s, "subject"),
      ...checkExpected(c, r, "reference"),
    ];
    judged = judge(differences, entry, s.timedOut === true && r.timedOut !== true);
  }
  return {
    ...base,
    verdict: judged.verdict,
    reason: judged.reason === "" && judgedAlone !== undefined ? judgedAlone : judged.reason,
    differences,
    subject: s,
    reference: r,
    ratio: r && r.wallMs > 0 ? s.wallMs / r.wallMs : undefined,
    judgedAlone,
    reproduce: reproduction(c, subject, s, reference, r, {
      env: caseEnv(c),
      kept: opts.keep === true,
      matrix: opts.matrixCommand,
    }),
  };
}

/** What the matrix is doing, for a progress line. */
export interface Progress {
  /** Cases finished. */
  done: number;
  /** Cases in the run. */
  total: number;
  /** The case most recently started. */
  current: string;
  /** The cases running now, in the order they started. */
  running: string[];
  /** Milliseconds since the run started. */
  elapsedMs: number;
  /** When the call reports a case's end: its outcome. */
  finished?: Outcome;
}

/** Options of {@linkcode runMatrix}. */
export interface MatrixOptions extends CaseOptions {
  /** The cases to run, in order. */
  cases: Case[];
  /** The runner under test (elfuse). */
  subject: Runner;
  /** The runner it is compared with, or null when this host has none. */
  reference: Runner | null;
  /** The reference for `guest: "x86_64"` cases (native on an x86-64 host), or null: none. */
  x86_64Reference?: Runner | null;
  /** Cases run at once (default 2). */
  jobs?: number;
  /** Every case name of the whole corpus, to find known-difference entries naming none. */
  allCaseNames?: string[];
  /** Notes gathered before the run (from loading the corpus). */
  notes?: string[];
  /** Called when a case starts or ends. */
  onProgress?: (p: Progress) => void;
}

/**
 * Runs every case and returns every outcome, in case order.
 *
 * @example
 * ```ts
 * const result = await runMatrix({ cases, subject: elfuse, reference: qemu, jobs: 2 });
 * console.log(result.outcomes.filter((o) => o.verdict === "fail").length);
 * ```
 */
export async function runMatrix(opts: MatrixOptions): Promise<MatrixResult> {
  process.umask(UMASK);
  const start = performance.now();
  const startedAt = new Date().toISOString();
  const cases = opts.cases;
  const outcomes: Outcome[] = new Array(cases.length);
  let next = 0;
  let done = 0;
  let current = "";
  const running = new Set<string>();
  const report = (finished?: Outcome) =>
    opts.onProgress?.({
      done,
      total: cases.length,
      current,
      running: [...running],
      elapsedMs: performance.now() - start,
      finished,
    });
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      current = cases[i].name;
      running.add(current);
      report();
      const reference = cases[i].guest === "x86_64" ? opts.x86_64Reference ?? null : opts.reference;
      outcomes[i] = await runCase(cases[i], opts.subject, reference, opts);
      running.delete(cases[i].name);
      done++;
      report(outcomes[i]);
    }
  };
  const jobs = Math.max(1, Math.min(opts.jobs ?? 2, cases.length || 1));
  await Promise.all(Array.from({ length: jobs }, worker));
  return {
    subject: { name: opts.subject.name, description: opts.subject.description },
    reference: opts.reference
      ? { name: opts.reference.name, description: opts.reference.description }
      : null,
    host: `${Deno.build.os}/${Deno.build.arch}`,
    startedAt,
    wallMs: performance.now() - start,
    outcomes,
    staleEntries: staleEntries(opts.known ?? [], opts.allCaseNames ?? cases.map((c) => c.name)),
    notes: [
      ...(opts.notes ?? []),
      // The header names one reference; the x86-64 cases had their own.
      ...(cases.some((c) => c.guest === "x86_64")
        ? [`x86_64 cases: reference ${opts.x86_64Reference?.description ?? "none on this host"}`]
        : []),
    ],
  };
}
