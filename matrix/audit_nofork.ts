/**
 * `deno run -A matrix/audit_nofork.ts [REGEX]`: proves that no busybox case forks or execs, by
 * running each (matching) case under `qemu-aarch64 -strace` and looking for clone, clone3, fork,
 * vfork, execve and execveat calls. Exits 1 naming the cases that do, 0 when none does.
 *
 * @module
 */

import { BUSYBOX_PATH, busyboxCases } from "./corpus_busybox.ts";
import { runOnce } from "./run.ts";
import { QemuUserRunner, spawnTimed } from "./runners.ts";
import { text } from "./status.ts";
import type { Invocation, RunResult } from "./types.ts";

/** The syscalls that would mean a case needs fork or exec. */
export const FORBIDDEN = /^\d+ (clone|clone3|fork|vfork|execve|execveat)\(/m;

/** qemu-user with `-strace`: the trace goes to stderr, interleaved with the guest's. */
class TracingQemu extends QemuUserRunner {
  override run(inv: Invocation): Promise<RunResult> {
    return spawnTimed(this.name, {
      cmd: this.qemu ?? "qemu-aarch64",
      args: ["-strace", inv.program, ...inv.args],
      cwd: inv.cwd,
      env: inv.env,
      clearEnv: true,
      stdin: inv.stdin,
      timeoutSeconds: inv.timeoutSeconds,
    });
  }
}

if (import.meta.main) {
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const filter = Deno.args[0] ? new RegExp(Deno.args[0]) : undefined;
  const runner = new TracingQemu();
  const problem = await runner.unavailable();
  if (problem) {
    console.error(`audit: ${problem}`);
    Deno.exit(1);
  }
  const cases = busyboxCases(`${repo}/${BUSYBOX_PATH}`).filter((c) =>
    !filter || filter.test(c.name)
  );
  const bad: string[] = [];
  for (const c of cases) {
    const o = await runOnce(c, runner);
    const m = text(o.stderr).match(FORBIDDEN);
    if (m) bad.push(`${c.name}: ${m[1]}`);
  }
  for (const b of bad) console.log(`forks or execs: ${b}`);
  console.log(`${cases.length - bad.length} passed, ${bad.length} failed`);
  Deno.exit(bad.length ? 1 : 0);
}
