/**
 * `deno task matrix` / `deno run -A matrix/cli.ts`: runs the corpus on elfuse and on a reference
 * runner, and reports what differs. Imports only what the options need.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LOG_INTERVAL_SECONDS } from "./progress.ts";

export const HELP = `Usage: deno run -A matrix/cli.ts [options]     (or: ./dev matrix [options])

Runs every case of the corpus on elfuse and on a reference runner, compares the results, and
prints a table, the details of what differed, and last a line "N passed, N failed, N skipped".
The corpus (--list shows it):
  fixture/*   the C fixtures of fixtures/catalog.ts (self-checking, or exact output)
  busybox/*   Debian's static busybox applets, one process each (ls, sort, tar, awk, ...)
  sh/*        busybox sh scripts: pipelines, subshells, traps, background jobs, here-documents
  debian/*    dynamically linked Debian programs (bash, python3, sqlite3, ...) from the
              sysroot in .tools/sysroot, which ./dev builds (skipped without it)
  x86_64/*    x86-64 programs (fixtures/x86/, built by the host's gcc) run through box64
              from .tools/x86-sysroot, compared with native runs on an x86-64 Linux host
Known differences (matrix/known_differences.ts) count as skipped, unless elfuse timed out
where the reference did not; a listed case that no longer differs fails the run ("fixed —
remove the entry"). Cases that exec another aarch64
program depend on binfmt_misc under qemu-user: without a faithful entry (qemu with flag P)
they are judged on elfuse alone, and the reports say why. Exit status: 0 when nothing
differed unexpectedly, 1 when something did (or a known-difference entry is stale, or a
runner is missing), 2 on bad options.

Options:
  --list               list the selected cases (name, tags, command) and exit
  --filter REGEX       only the cases whose name matches REGEX (e.g. 'busybox/(sort|uniq)')
  --quick              only the fast subset (cases marked quick)
  --jobs N             cases run at once (default 2)
  --timeout SECONDS    timeout of every step, instead of each case's own (default 60, larger
                       for big inputs; fixtures give their own)
  --backend NAME       elfuse's --backend: unicorn, hvf or hvf-sim (default: elfuse's own)
  --reference NAME     the reference: qemu-user, native or none (default: native on an
                       aarch64 Linux host, else qemu-user when qemu-aarch64 is installed,
                       else none: then only cases with their own expectation are judged)
  --sysroot DIR        passed to qemu-user as -L DIR
  --elfuse-runner NAME run NAME instead of elfuse as the subject (elfuse, qemu-user or
                       native): "--elfuse-runner qemu-user" self-tests the matrix and checks
                       that every case is deterministic
  --keep               keep each case's working directories (the reports name them)
  --json FILE          write every result to FILE as JSON, with the environment and the
                       command lines that reproduce each case
  --junit FILE         write a JUnit XML report to FILE (for CI systems)
  --html FILE          write one self-contained HTML page to FILE: failures first, filter
                       and search, coloured diffs, stderr, reproduce commands
  -h, --help           show this help and exit

Guests run with a fixed environment (TZ=UTC, LC_ALL=C, HOME=/, PATH=/usr/local/bin:/usr/bin:/bin)
in a fresh temporary directory per case and runner, under umask 022. Progress goes to stderr:
a line redrawn in place on a terminal; elsewhere a line per failure as it happens and a status
line every ${LOG_INTERVAL_SECONDS} s naming the cases still running.`;

const REFERENCES = ["qemu-user", "native", "none"];
const SUBJECTS = ["elfuse", "qemu-user", "native"];
const BACKEND_NAMES = ["unicorn", "hvf", "hvf-sim"];

/** A bad command line: a one-line message, exit status 2. */
class UsageError extends Error {}

/** The parsed command line. */
export interface CliOptions {
  list: boolean;
  filter?: RegExp;
  quick: boolean;
  jobs: number;
  timeout?: number;
  backend?: string;
  reference?: string;
  sysroot?: string;
  subject: string;
  keep: boolean;
  json?: string;
  junit?: string;
  html?: string;
  help: boolean;
}

/** Parses the command line; throws a {@linkcode UsageError} with a one-line message. */
export function parseCli(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        list: { type: "boolean", default: false },
        filter: { type: "string" },
        quick: { type: "boolean", default: false },
        jobs: { type: "string" },
        timeout: { type: "string" },
        backend: { type: "string" },
        reference: { type: "string" },
        sysroot: { type: "string" },
        "elfuse-runner": { type: "string" },
        keep: { type: "boolean", default: false },
        json: { type: "string" },
        junit: { type: "string" },
        html: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split(/\.\s/)[0].replace(/\.$/, ""));
  }
  const v = parsed.values;
  const oneOf = (name: string, value: string | undefined, allowed: string[]) => {
    if (value !== undefined && !allowed.includes(value)) {
      throw new UsageError(
        `--${name} must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
  let filter: RegExp | undefined;
  if (v.filter !== undefined) {
    try {
      filter = new RegExp(v.filter);
    } catch (e) {
      throw new UsageError(`--filter: ${(e as Error).message}`);
    }
  }
  let jobs = 2;
  if (v.jobs !== undefined) {
    jobs = Number(v.jobs);
    if (!/^\d+$/.test(v.jobs) || jobs < 1) {
      throw new UsageError(
        `--jobs needs a whole number of at least 1, not ${JSON.stringify(v.jobs)}`,
      );
    }
  }
  let timeout: number | undefined;
  if (v.timeout !== undefined) {
    timeout = Number(v.timeout);
    if (v.timeout.trim() === "" || !Number.isFinite(timeout) || timeout <= 0) {
      throw new UsageError(
        `--timeout needs a number of seconds above 0, not ${JSON.stringify(v.timeout)}`,
      );
    }
  }
  for (const name of ["json", "junit", "html", "sysroot"] as const) {
    if (v[name] === "") throw new UsageError(`--${name} needs a path`);
  }
  return {
    list: v.list,
    filter,
    quick: v.quick,
    jobs,
    timeout,
    backend: oneOf("backend", v.backend, BACKEND_NAMES),
    reference: oneOf("reference", v.reference, REFERENCES),
    sysroot: v.sysroot,
    subject: oneOf("elfuse-runner", v["elfuse-runner"], SUBJECTS) ?? "elfuse",
    keep: v.keep,
    json: v.json,
    junit: v.junit,
    html: v.html,
    help: v.help,
  };
}

async function write(path: string, content: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, content);
  } catch (e) {
    die(`cannot write ${path}: ${(e as Error).message}`, 1);
  }
}

function die(message: string, code: number): never {
  console.error(`matrix: ${message}`);
  Deno.exit(code);
}

async function main(argv: string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCli(argv);
  } catch (e) {
    if (e instanceof UsageError) die(`${e.message} (see --help)`, 2);
    throw e;
  }
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const { loadCorpus, selectCases } = await import("./corpus.ts");
  const corpus = await loadCorpus(repo);
  const cases = selectCases(corpus.cases, opts);
  if (opts.list) {
    const { commandLine } = await import("./run.ts");
    const width = Math.max(0, ...cases.map((c) => c.name.length));
    for (const c of cases) {
      const tags = [
        c.quick ? "quick" : "",
        c.needsExec ? "exec" : c.mayExec ? "may-exec" : "",
        c.skip ? "skip" : "",
      ]
        .filter(Boolean).join(",");
      console.log(`${c.name.padEnd(width)}  ${tags.padEnd(14)}  ${commandLine(c)}`);
    }
    console.error(
      `${cases.length} case(s) (${corpus.cases.length} in the corpus, ` +
        `${corpus.cases.filter((c) => c.quick).length} quick)`,
    );
    for (const n of corpus.notes) console.error(`note: ${n}`);
    return 0;
  }
  if (cases.length === 0) die("no case is selected (check --filter and --quick)", 2);
  if (!corpus.busybox.present && cases.some((c) => c.group === "busybox")) {
    die(
      `busybox not found at ${corpus.busybox.path}: run \`./dev matrix\` (tools/setup.sh ` +
        `fetches it), or --filter the busybox cases out`,
      1,
    );
  }

  const { makeRunner, defaultReference, killAllRunning, QemuUserRunner, which, x86_64Reference } =
    await import(
      "./runners.ts"
    );
  type Name = Parameters<typeof makeRunner>[0];
  const runnerOpts = { repo, backend: opts.backend, sysroot: opts.sysroot };
  const subject = makeRunner(opts.subject as Name, runnerOpts);
  const subjectProblem = await subject.unavailable();
  if (subjectProblem) {
    die(
      `${subject.name} is unavailable: ${subjectProblem}` +
        (subject.name === "elfuse" ? " (--elfuse-runner qemu-user self-tests the matrix)" : ""),
      1,
    );
  }
  const notes = [...corpus.notes];
  const refName = opts.reference ?? defaultReference() ?? "none";
  let reference = null;
  if (refName !== "none") {
    reference = makeRunner(refName as Name, runnerOpts);
    const problem = await reference.unavailable();
    if (problem) die(`reference ${refName} is unavailable: ${problem}`, 1);
  } else if (!opts.reference) {
    notes.push(
      "no reference runner on this host: only cases with their own expectation are judged",
    );
  }

  const { knownDifferences } = await import("./known_differences.ts");
  const { entryProblems } = await import("./known.ts");
  const problems = entryProblems(knownDifferences);
  if (problems.length) die(problems.join("; "), 1);

  const { collectEnvironment } = await import("./environment.ts");
  const qemuRunner = [reference, subject].find((r) => r instanceof QemuUserRunner);
  const environment = await collectEnvironment(
    repo,
    qemuRunner instanceof QemuUserRunner ? qemuRunner.qemu : which("qemu-aarch64"),
  );
  if (reference instanceof QemuUserRunner) {
    environment.binfmt = (await reference.execFollowing()).message;
  }

  const { runMatrix } = await import("./run.ts");
  const { ProgressPrinter } = await import("./progress.ts");
  const enc = new TextEncoder();
  const terminal = Deno.stderr.isTerminal();
  const progress = new ProgressPrinter({
    terminal,
    write: (t) => Deno.stderr.writeSync(enc.encode(t)),
    columns: () => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 80; // Not a terminal after all.
      }
    },
  });
  progress.start(
    cases.length,
    Math.min(opts.jobs, cases.length),
    `${subject.description} against ${reference?.description ?? "no reference"}`,
  );
  const started = performance.now();
  const ticker = setInterval(() => progress.tick(performance.now() - started), 500);
  const onSigint = () => {
    killAllRunning();
    progress.finish();
    console.error("matrix: interrupted");
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSigint);
  let result;
  try {
    result = await runMatrix({
      cases,
      subject,
      reference,
      x86_64Reference: x86_64Reference(),
      jobs: opts.jobs,
      timeout: opts.timeout,
      keep: opts.keep,
      known: knownDifferences,
      allCaseNames: corpus.cases.map((c) => c.name),
      notes,
      matrixCommand: "./dev matrix",
      onProgress: (p) => progress.update(p),
    });
  } finally {
    clearInterval(ticker);
    progress.finish();
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  result.environment = environment;

  const { renderText } = await import("./report_text.ts");
  const { exitCode } = await import("./summary.ts");
  const out = enc.encode(renderText(result));
  for (let off = 0; off < out.length;) off += await Deno.stdout.write(out.subarray(off));
  if (opts.json) {
    const { renderJson } = await import("./report_json.ts");
    await write(opts.json, await renderJson(result));
  }
  if (opts.junit) {
    const { renderJunit } = await import("./report_junit.ts");
    await write(opts.junit, renderJunit(result));
  }
  if (opts.html) {
    const { renderHtml } = await import("./report_html.ts");
    await write(opts.html, renderHtml(result));
  }
  return exitCode(result);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
