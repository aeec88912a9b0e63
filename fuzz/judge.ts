// What counts as a finding: elfuse may refuse bad input with one line and a proper exit status,
// or run the guest, whatever the guest then does. An internal error, a stack trace, a crash of the
// host process, a hang or a process left behind is a failure.
import { MEMORY_CAP, type RunResult } from "./sandbox.ts";

export type FailureKind =
  | "internal error"
  | "stack trace"
  | "host crash"
  | "host signal"
  | "hang"
  | "stray process"
  /** The run's processes held more than the sandbox allows (MEMORY_CAP) and were ended. */
  | "memory"
  | "multi-line error"
  /** The fuzzer's own guest could not go on (its set-up failed): no verdict on elfuse. */
  | "fuzzer gave up";

export interface Failure {
  kind: FailureKind;
  /** The line or fact that shows it. */
  detail: string;
}

/**
 * Lines only a crash of Deno, V8 or libunicorn prints (never elfuse's own one-line errors). A
 * failed C assertion in the host process starts with its name, deno; the guest's own (glibc's
 * "Inconsistency detected by ld.so: ... Assertion ... failed!") is the guest's business.
 */
const CRASH_MARKERS: RegExp[] = [
  /panicked at/,
  /^deno: .*Assertion .* failed/m,
  /Fatal (JavaScript|error|process out of memory)/,
  /Check failed:/,
  /Segmentation fault/,
  /^error: Uncaught/m,
];

/** A JavaScript stack frame, as Deno prints them. */
const STACK_FRAME = /^\s+at .*(\.ts|\.js|ext:[a-z_/]+\.js):\d+:\d+\)?$/m;

/** The signals a host-side crash ends a process with (a guest's fault is one of these too). */
export const FAULT_SIGNALS = new Set([
  "SIGSEGV",
  "SIGBUS",
  "SIGILL",
  "SIGTRAP",
  "SIGFPE",
  "SIGSYS",
]);

/** elfuse's -v note for a guest fault that ends the guest (run.ts statusOf). */
export const FAULT_NOTE = /^elfuse: (guest \w+ fault at|undefined instruction at|breakpoint at)/m;

/** Failures visible in any run's output and status, whatever the input was. */
export function commonFailures(r: RunResult): Failure[] {
  const found: Failure[] = [];
  const internal = /^elfuse: internal error.*$/m.exec(r.stderr);
  if (internal) found.push({ kind: "internal error", detail: internal[0] });
  const frame = STACK_FRAME.exec(r.stderr);
  if (frame && !internal) found.push({ kind: "stack trace", detail: frame[0].trim() });
  for (const m of CRASH_MARKERS) {
    const hit = m.exec(r.stderr);
    if (hit) found.push({ kind: "host crash", detail: lineAround(r.stderr, hit.index) });
  }
  if (r.timedOut) found.push({ kind: "hang", detail: `no end after ${Math.round(r.ms)} ms` });
  if (r.peakBytes > MEMORY_CAP) {
    found.push({
      kind: "memory",
      detail: `held ${Math.round(r.peakBytes / 2 ** 20)} MiB resident`,
    });
  }
  if (r.strays.length > 0) {
    found.push({ kind: "stray process", detail: `pids ${r.strays.join(", ")} outlived the run` });
  }
  return found;
}

function lineAround(text: string, index: number): string {
  const start = text.lastIndexOf("\n", index) + 1;
  const end = text.indexOf("\n", index);
  return text.slice(start, end < 0 ? undefined : end);
}

/**
 * An error from elfuse is one line: when elfuse refuses a program (126, 127), its last line is
 * the error, and nothing may follow it.
 */
export function multiLineError(r: RunResult): Failure | undefined {
  if (r.code !== 126 && r.code !== 127) return undefined;
  const lines = r.stderr.trimEnd().split("\n");
  const last = lines.findLastIndex((l) => l.startsWith("elfuse: "));
  if (last >= 0 && last < lines.length - 1) {
    return { kind: "multi-line error", detail: JSON.stringify(lines.slice(last, last + 2)) };
  }
  return undefined;
}
