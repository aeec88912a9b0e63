/**
 * The elfuse matrix: runs a corpus of aarch64 programs (the fixtures of fixtures/catalog.ts, over a
 * hundred busybox applet cases, busybox sh scripts and Debian programs from a sysroot) on elfuse
 * and on a reference runner (qemu-user, or the host itself on aarch64 Linux), compares the results
 * case by case, and reports them as text, JSON, JUnit XML or one self-contained HTML page. `deno task matrix` is its command line (matrix/cli.ts); this
 * module is its API, for tools and tests that want to run or judge cases themselves.
 *
 * @example Run the quick busybox cases on qemu-user against itself and print the report
 * ```ts
 * import {
 *   exitCode,
 *   loadCorpus,
 *   makeRunner,
 *   renderText,
 *   runMatrix,
 *   selectCases,
 * } from "./matrix/mod.ts";
 *
 * const repo = "/work/main";
 * const corpus = await loadCorpus(repo);
 * const cases = selectCases(corpus.cases, { quick: true, filter: /^busybox\// });
 * const result = await runMatrix({
 *   cases,
 *   subject: makeRunner("qemu-user", { repo }), // makeRunner("elfuse", { repo, backend })
 *   reference: makeRunner("qemu-user", { repo }),
 *   jobs: 2,
 * });
 * console.log(renderText(result)); // ends with "N passed, N failed, N skipped"
 * Deno.exitCode = exitCode(result);
 * ```
 *
 * @example Judge two results of your own
 * ```ts
 * import { compareResults } from "./matrix/mod.ts";
 *
 * const differences = compareResults(myCase, elfuseObserved, qemuObserved);
 * for (const d of differences) console.log(d.summary);
 * ```
 *
 * @module
 */

export type {
  Case,
  Comparison,
  Counts,
  Difference,
  Expected,
  FileSpec,
  Invocation,
  KnownDifference,
  MatrixResult,
  Needs,
  NormaliserName,
  Observed,
  Outcome,
  Reproduction,
  Runner,
  RunnerInfo,
  RunResult,
  Status,
  Step,
  Verdict,
} from "./types.ts";
export { DEFAULT_MTIME } from "./types.ts";
export {
  BACKENDS,
  defaultReference,
  ElfuseRunner,
  hostRunsAarch64,
  killAllRunning,
  makeRunner,
  NativeRunner,
  QemuUserRunner,
  RUNNER_NAMES,
  type RunnerName,
  type RunnerOptions,
  type SpawnSpec,
  spawnTimed,
} from "./runners.ts";
export {
  type BinfmtEntry,
  type BinfmtState,
  type ExecFollowing,
  execFollowing,
  type ExecNeeds,
  execProblem,
  readExecFollowing,
} from "./binfmt.ts";
export { type ReproduceOptions, reproduction } from "./reproduce.ts";
export { type Corpus, loadCorpus, selectCases } from "./corpus.ts";
export { BUSYBOX_PATH, busyboxCases } from "./corpus_busybox.ts";
export { fixtureCases, type FixtureCorpus } from "./corpus_fixtures.ts";
export { checkAlone, checkExpected, compareResults, judgeableAlone } from "./compare.ts";
export { normalise, type NormaliseContext, type Normaliser, NORMALISERS } from "./normalise.ts";
export { entryProblems, findEntry, judge, staleEntries } from "./known.ts";
export { knownDifferences } from "./known_differences.ts";
export {
  BASE_ENV,
  caseEnv,
  type CaseOptions,
  createFiles,
  type MatrixOptions,
  type Progress,
  runCase,
  runMatrix,
  runOnce,
  type RunOnceOptions,
  snapshotDir,
} from "./run.ts";
export { countOutcomes, exitCode, summaryLine } from "./summary.ts";
export { type DetailOptions, renderText } from "./report_text.ts";
export { renderHtml } from "./report_html.ts";
export { renderJson, toJson } from "./report_json.ts";
export { renderJunit } from "./report_junit.ts";
export { collectEnvironment, type Environment } from "./environment.ts";
