/**
 * Test helpers: a fake runner that answers from a function instead of running anything, and
 * builders for observed results and cases. Used by the unit tests; elfuse need not work.
 *
 * @module
 */

import type { Case, Invocation, Needs, Observed, Runner, RunResult, Status } from "./types.ts";

/** What a fake runner answers for one invocation. */
export interface FakeAnswer {
  stdout?: string | Uint8Array;
  stderr?: string;
  status?: Status;
  /** Milliseconds the fake claims it took. */
  wallMs?: number;
}

/** A runner that runs nothing: `answer` decides each result (it may also touch `inv.cwd`). */
export class FakeRunner implements Runner {
  readonly description: string;
  readonly calls: Invocation[] = [];
  constructor(
    readonly name: string,
    readonly answer: (inv: Invocation) => FakeAnswer | Promise<FakeAnswer>,
    readonly refuse: (needs: Needs) => string | null = () => null,
  ) {
    this.description = `fake ${name}`;
  }
  unavailable(): Promise<string | null> {
    return Promise.resolve(null);
  }
  cannotRun(needs: Needs): Promise<string | null> {
    return Promise.resolve(this.refuse(needs));
  }
  async run(inv: Invocation): Promise<RunResult> {
    this.calls.push(inv);
    const a = await this.answer(inv);
    const enc = (s: string | Uint8Array | undefined) =>
      typeof s === "string" ? new TextEncoder().encode(s) : s ?? new Uint8Array();
    const status = a.status ?? { kind: "exit", code: 0 };
    return {
      runner: this.name,
      status,
      stdout: enc(a.stdout),
      stderr: enc(a.stderr),
      wallMs: a.wallMs ?? 10,
      timedOut: status.kind === "timeout",
    };
  }
}

/** An observed result with defaults (exit 0, no output). */
export function observed(
  runner: string,
  fields: Partial<Omit<Observed, "stdout" | "stderr">> & {
    stdout?: string | Uint8Array;
    stderr?: string;
  } = {},
): Observed {
  const enc = (s: string | Uint8Array | undefined) =>
    typeof s === "string" ? new TextEncoder().encode(s) : s ?? new Uint8Array();
  return {
    runner,
    status: { kind: "exit", code: 0 },
    stepsRun: 1,
    stepsTotal: 1,
    wallMs: 10,
    timedOut: false,
    workdir: `/tmp/${runner}-dir`,
    ...fields,
    stdout: enc(fields.stdout),
    stderr: enc(fields.stderr),
  };
}

/** A case with defaults (one step, exact comparison). */
export function testCase(name: string, fields: Partial<Case> = {}): Case {
  return {
    name,
    group: "test",
    program: "/nonexistent/prog",
    steps: [{ args: [] }],
    ...fields,
  };
}
