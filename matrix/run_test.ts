import assert from "node:assert/strict";
import {
  BASE_ENV,
  caseEnv,
  commandLine,
  createFiles,
  runCase,
  runMatrix,
  snapshotDir,
} from "./run.ts";
import { countOutcomes, exitCode, summaryLine } from "./summary.ts";
import { FakeRunner, testCase } from "./testing.ts";
import { DEFAULT_MTIME } from "./types.ts";

const echo = (name: string) =>
  new FakeRunner(name, (inv) => ({ stdout: inv.args.join(" ") + "\n" }));

Deno.test("createFiles makes files, dirs and symlinks with fixed modes and mtimes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await createFiles(dir, [
      { path: "a/b/c.txt", content: "hi\n", mode: 0o600 },
      { path: "d", type: "dir", mode: 0o700, mtime: DEFAULT_MTIME + 5 },
      { path: "l", type: "symlink", target: "a/b/c.txt" },
      { path: "gen", content: () => new Uint8Array([1, 2, 3]) },
    ]);
    const st = await Deno.stat(`${dir}/a/b/c.txt`);
    assert.equal((st.mode ?? 0) & 0o777, 0o600);
    assert.equal(st.mtime!.getTime() / 1000, DEFAULT_MTIME);
    assert.equal((await Deno.stat(`${dir}/a/b`)).mtime!.getTime() / 1000, DEFAULT_MTIME);
    assert.equal((await Deno.stat(`${dir}/d`)).mtime!.getTime() / 1000, DEFAULT_MTIME + 5);
    assert.equal((await Deno.lstat(`${dir}/l`)).mtime!.getTime() / 1000, DEFAULT_MTIME);
    assert.equal(await Deno.readLink(`${dir}/l`), "a/b/c.txt");
    const snap = await snapshotDir(dir, true);
    assert.equal(
      snap,
      [
        "a/ dir 0755",
        "a/b/ dir 0755",
        `a/b/c.txt file 0600 3 sha256:98ea6e4f216f2fb4 mtime=${DEFAULT_MTIME}`,
        "d/ dir 0700",
        `gen file 0644 3 sha256:039058c6f2c0cb49 mtime=${DEFAULT_MTIME}`,
        "l symlink -> a/b/c.txt",
        "",
      ].join("\n"),
    );
    assert.equal(await snapshotDir(dir), snap.replace(/ mtime=\d+/g, ""));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("caseEnv: the fixed environment plus the case's own, sorted", () => {
  const env = caseEnv(testCase("t/x", { env: { TZ: "Europe/Paris", AAA: "1" } }));
  assert.deepEqual(Object.keys(env), ["AAA", ...Object.keys(BASE_ENV)].sort());
  assert.equal(env.TZ, "Europe/Paris");
});

Deno.test("commandLine quotes what a shell would need quoted", () => {
  const c = testCase("t/x", {
    program: "/x/busybox",
    steps: [{ args: ["date", "+%F %T"] }, { args: ["true"], stdin: "x" }],
  });
  assert.equal(commandLine(c), "busybox date '+%F %T' && busybox true < stdin");
});

Deno.test("runCase: steps run in one fresh directory with files, env and stdin", async () => {
  const seen: string[] = [];
  const r = new FakeRunner("r", async (inv) => {
    const content = await Deno.readTextFile(`${inv.cwd}/in.txt`);
    const stdin = inv.stdin ? new TextDecoder().decode(inv.stdin) : "";
    seen.push(inv.cwd);
    return { stdout: `${inv.args[0]}:${content}:${stdin}:${inv.env.TZ}\n` };
  });
  const c = testCase("t/x", {
    files: [{ path: "in.txt", content: "file" }],
    steps: [{ args: ["one"], stdin: "in" }, { args: ["two"] }],
  });
  const o = await runCase(c, r, echo("ref"));
  assert.equal(seen.length, 2);
  assert.equal(seen[0], seen[1]);
  assert.equal(new TextDecoder().decode(o.subject!.stdout), "one:file:in:UTC\ntwo:file::UTC\n");
  // The working directory is gone afterwards.
  await assert.rejects(() => Deno.stat(seen[0]));
});

Deno.test("runCase: a failing step stops the case", async () => {
  const r = new FakeRunner(
    "r",
    (inv) => ({ status: { kind: "exit", code: inv.args[0] === "fail" ? 1 : 0 } }),
  );
  const c = testCase("t/x", { steps: [{ args: ["fail"] }, { args: ["never"] }] });
  const o = await runCase(c, r, r);
  assert.equal(o.subject!.stepsRun, 1);
  assert.equal(r.calls.filter((i) => i.args[0] === "never").length, 0);
});

Deno.test("a real difference fails the run", async () => {
  const good = testCase("t/good", { steps: [{ args: ["same"] }] });
  const bad = testCase("t/bad", { steps: [{ args: ["differs"] }] });
  const subject = new FakeRunner("elfuse", (inv) => ({
    stdout: inv.args[0] === "differs" ? "wrong\n" : "same\n",
  }));
  const result = await runMatrix({ cases: [good, bad], subject, reference: echo("qemu-user") });
  assert.deepEqual(result.outcomes.map((o) => o.verdict), ["pass", "fail"]);
  assert.match(result.outcomes[1].reason, /stdout differs/);
  assert.equal(summaryLine(countOutcomes(result)), "1 passed, 1 failed, 0 skipped");
  assert.equal(exitCode(result), 1);
});

Deno.test("known differences are known; fixed ones and stale entries fail the run", async () => {
  const bad = testCase("t/bad", { steps: [{ args: ["x"] }] });
  const good = testCase("t/good", { steps: [{ args: ["y"] }] });
  const subject = new FakeRunner(
    "elfuse",
    (inv) => ({ stdout: inv.args[0] === "x" ? "no\n" : "y\n" }),
  );
  const ref = echo("qemu-user");
  const known = [{ case: "t/bad", reference: "qemu-user", reason: "not yet" }];
  const r1 = await runMatrix({ cases: [bad, good], subject, reference: ref, known });
  assert.deepEqual(r1.outcomes.map((o) => o.verdict), ["known", "pass"]);
  assert.equal(exitCode(r1), 0);
  assert.equal(summaryLine(countOutcomes(r1)), "1 passed, 0 failed, 1 skipped");

  // The same entry does not cover elfuse timing out where the reference finished.
  const hangs = new FakeRunner("elfuse", () => ({ status: { kind: "timeout", seconds: 1 } }));
  const hung = await runMatrix({ cases: [bad], subject: hangs, reference: ref, known });
  assert.deepEqual(hung.outcomes.map((o) => o.verdict), ["fail"]);
  assert.match(hung.outcomes[0].reason, /does not cover a hang/);

  // An entry for another reference does not apply.
  const r2 = await runMatrix({
    cases: [bad],
    subject,
    reference: ref,
    known: [{ case: "t/bad", reference: "native", reason: "r" }],
  });
  assert.equal(r2.outcomes[0].verdict, "fail");

  const fixed = [{ case: "t/good", reference: "*", reason: "was broken" }];
  const r3 = await runMatrix({ cases: [good], subject, reference: ref, known: fixed });
  assert.equal(r3.outcomes[0].verdict, "fixed");
  assert.match(r3.outcomes[0].reason, /fixed — remove the entry/);
  assert.equal(exitCode(r3), 1);

  const stale = [{ case: "t/gone", reference: "*", reason: "renamed" }];
  const r4 = await runMatrix({
    cases: [good],
    subject,
    reference: ref,
    known: stale,
    allCaseNames: ["t/good"],
  });
  assert.deepEqual(r4.staleEntries, stale);
  assert.equal(summaryLine(countOutcomes(r4)), "1 passed, 1 failed, 0 skipped");
  assert.equal(exitCode(r4), 1);
});

Deno.test("skips: case skip, reference unavailable for needsExec, no reference", async () => {
  const ref = new FakeRunner(
    "qemu-user",
    (inv) => ({ stdout: inv.args.join(" ") + "\n" }),
    (n) => n.needsExec ? "reference unavailable: binfmt_misc is not mounted" : null,
  );
  const subject = echo("elfuse");
  const r = await runMatrix({
    cases: [
      testCase("t/unbuilt", { skip: "not built: run `deno task fixtures`" }),
      testCase("t/exec", { needsExec: true }),
      testCase("t/plain"),
    ],
    subject,
    reference: ref,
  });
  assert.deepEqual(r.outcomes.map((o) => o.verdict), ["skip", "skip", "pass"]);
  assert.match(r.outcomes[1].reason, /reference unavailable/);
  assert.equal(subject.calls.length, 1, "skipped cases do not run");
  assert.equal(exitCode(r), 0);

  const alone = await runMatrix({
    cases: [
      testCase("t/plain"),
      testCase("t/self", {
        compare: { mode: "self-check" },
        steps: [{ args: ["3 passed, 0 failed"] }],
      }),
      testCase("t/expect", { expect: { exit: 0, stdout: "nope\n" }, steps: [{ args: ["yes"] }] }),
    ],
    subject,
    reference: null,
  });
  assert.deepEqual(alone.outcomes.map((o) => o.verdict), ["skip", "pass", "fail"]);
  assert.match(alone.outcomes[0].reason, /no reference runner/);

  // A case the reference cannot run is judged on the subject alone when it has its own promise.
  const promised = await runMatrix({
    cases: [
      testCase("t/exec-self", {
        needsExec: true,
        compare: { mode: "self-check" },
        steps: [{ args: ["2 passed, 0 failed"] }],
      }),
      testCase("t/exec-out", {
        needsExec: true,
        expect: { exit: 0, stdout: "other\n" },
        steps: [{ args: ["out"] }],
      }),
    ],
    subject,
    reference: ref,
  });
  assert.deepEqual(promised.outcomes.map((o) => o.verdict), ["pass", "fail"]);
  assert.match(promised.outcomes[0].reason, /judged on elfuse alone: reference unavailable/);
});

Deno.test("runMatrix runs jobs at once, keeps case order, and reports progress", async () => {
  let live = 0;
  let most = 0;
  const slow = new FakeRunner("s", async (inv) => {
    live++;
    most = Math.max(most, live);
    await new Promise((r) => setTimeout(r, 20));
    live--;
    return { stdout: inv.args[0] };
  });
  const cases = Array.from(
    { length: 6 },
    (_, i) => testCase(`t/${i}`, { steps: [{ args: [String(i)] }] }),
  );
  const progress: number[] = [];
  const r = await runMatrix({
    cases,
    subject: slow,
    reference: slow,
    jobs: 3,
    onProgress: (p) => progress.push(p.done),
  });
  assert.deepEqual(r.outcomes.map((o) => o.case), cases.map((c) => c.name));
  assert.equal(most, 3);
  assert.equal(progress[progress.length - 1], 6);
  assert.ok(r.outcomes.every((o) => o.ratio !== undefined && o.ratio > 0));
});

Deno.test("a reference bug (judgeAlone): judged on the subject alone, fixed once it is gone", async () => {
  const selfCheck = (name: string) =>
    testCase(name, { compare: { mode: "self-check" }, steps: [{ args: [name] }] });
  // The reference fails t/bug's self-check; elfuse fails t/both's too.
  const subject = new FakeRunner("elfuse", (inv) => ({
    stdout: inv.args[0] === "t/both" ? "1 passed, 1 failed\n" : "2 passed, 0 failed\n",
  }));
  const buggy = new FakeRunner("qemu-user", (inv) => ({
    stdout: inv.args[0] === "t/healed" ? "2 passed, 0 failed\n" : "1 passed, 1 failed\n",
  }));
  const known = ["t/bug", "t/both", "t/healed"].map((c) => ({
    case: c,
    reference: "qemu-user",
    judgeAlone: true,
    reason: "qemu-user reverses the environment",
  }));
  const r = await runMatrix({
    cases: [selfCheck("t/bug"), selfCheck("t/both"), selfCheck("t/healed")],
    subject,
    reference: buggy,
    known,
  });
  assert.deepEqual(r.outcomes.map((o) => o.verdict), ["pass", "fail", "fixed"]);
  assert.match(
    r.outcomes[0].judgedAlone!,
    /^judged on elfuse alone: known qemu-user bug: qemu-user reverses the environment$/,
  );
  assert.equal(r.outcomes[0].reason, r.outcomes[0].judgedAlone);
  assert.ok(r.outcomes[0].reference, "the reference still ran");
  assert.match(r.outcomes[1].reason, /elfuse fails its self-check/);
  assert.match(r.outcomes[2].reason, /qemu-user no longer shows this bug/);

  // Where the reference cannot run the case at all, the entry can be neither shown nor fixed.
  const noExec = new FakeRunner("qemu-user", () => ({}), () => "reference unavailable: none");
  const r2 = await runMatrix({
    cases: [selfCheck("t/bug")],
    subject,
    reference: noExec,
    known,
  });
  assert.equal(r2.outcomes[0].verdict, "pass");
  assert.match(r2.outcomes[0].reason, /judged on elfuse alone: reference unavailable: none/);
  assert.equal(noExec.calls.length, 0);
});

Deno.test("judged alone, only entries for any reference apply", async () => {
  const subject = new FakeRunner("elfuse", () => ({ stdout: "1 passed, 1 failed\n" }));
  const noExec = new FakeRunner("qemu-user", () => ({}), () => "reference unavailable: none");
  const c = testCase("t/x", { compare: { mode: "self-check" }, needsExec: true });
  const forQemu = { case: "t/x", reference: "qemu-user", reason: "qemu-user's own difference" };
  const forAll = { case: "t/x", reference: "*", reason: "elfuse's own limitation" };
  const r = await runMatrix({ cases: [c], subject, reference: noExec, known: [forQemu] });
  assert.equal(r.outcomes[0].verdict, "fail", "a qemu-user entry does not excuse elfuse");
  const r2 = await runMatrix({ cases: [c], subject, reference: noExec, known: [forAll] });
  assert.equal(r2.outcomes[0].verdict, "known");
});

Deno.test("reproduce: the matrix line and each runner's steps", async () => {
  const withShell = (name: string) => {
    const r = echo(name);
    return Object.assign(r, {
      shellCommand: (inv: { program: string; args: string[] }) =>
        [name, inv.program, ...inv.args].join(" "),
    });
  };
  const plain = testCase("t/a.b", {
    steps: [{ args: ["one"] }, { args: ["two"], stdin: "in'put" }],
  });
  const withFiles = testCase("t/files", { files: [{ path: "f", content: "x" }] });
  const r = await runMatrix({
    cases: [plain, withFiles],
    subject: withShell("elfuse"),
    reference: withShell("qemu-user"),
  });
  const p = r.outcomes[0].reproduce!;
  assert.equal(p.matrix, "deno task matrix --filter '^t/a\\.b$' --keep");
  assert.equal(
    p.subject,
    `cd "$(mktemp -d)" && elfuse /nonexistent/prog one </dev/null && ` +
      `printf '%s' 'in'\\''put' | elfuse /nonexistent/prog two`,
  );
  assert.match(p.reference!, /^cd "\$\(mktemp -d\)" && qemu-user /);
  assert.equal(p.note, undefined);
  const f = r.outcomes[1].reproduce!;
  assert.match(f.subject!, /^cd \/\S+elfuse-matrix-\S+ && /);
  assert.match(f.note!, /creates 1 file\(s\).*--keep/);
});

Deno.test("a case that may exec is not judged against a run during which binfmt_misc changed", async () => {
  let state = "none";
  const ref = Object.assign(
    new FakeRunner("qemu-user", (inv) => {
      // Someone registers or removes qemu-aarch64 while each case runs.
      state = state === "none" ? "faithful" : "none";
      return { stdout: inv.args.join(" ") + "\n" };
    }),
    { execState: () => Promise.resolve(state) },
  );
  const r = await runMatrix({
    cases: [
      testCase("t/sh", { mayExec: true }),
      testCase("t/self", {
        mayExec: true,
        compare: { mode: "self-check" },
        steps: [{ args: ["1 passed, 0 failed"] }],
      }),
      testCase("t/plain"),
    ],
    subject: echo("elfuse"),
    reference: ref,
    jobs: 1,
  });
  assert.deepEqual(r.outcomes.map((o) => o.verdict), ["skip", "pass", "pass"]);
  assert.match(r.outcomes[0].reason, /binfmt_misc changed while the case ran \(from "none"/);
  assert.match(r.outcomes[1].judgedAlone!, /judged on elfuse alone: binfmt_misc changed/);
  assert.equal(r.outcomes[2].judgedAlone, undefined, "a case that does not exec is unaffected");
});

Deno.test("a reference bug entry does not apply when the reference runs against itself", async () => {
  const buggy = () =>
    new FakeRunner(
      "qemu-user",
      () => ({ stdout: "1 passed, 1 failed\n", status: { kind: "exit", code: 1 } }),
    );
  const r = await runMatrix({
    cases: [testCase("t/bug", { compare: { mode: "self-check" } })],
    subject: buggy(),
    reference: buggy(),
    known: [{ case: "t/bug", reference: "qemu-user", judgeAlone: true, reason: "its bug" }],
  });
  assert.equal(r.outcomes[0].verdict, "known");
  assert.equal(r.outcomes[0].judgedAlone, undefined);
});

Deno.test("x86_64 cases are compared with the x86-64 reference, the others with the run's", async () => {
  const arm = testCase("t/arm", { steps: [{ args: ["a"] }] });
  const x86 = testCase("x86_64/x", { steps: [{ args: ["b"] }], guest: "x86_64" });
  const qemu = echo("qemu-user"), native = echo("native-x86_64");
  const r = await runMatrix({
    cases: [arm, x86],
    subject: echo("elfuse"),
    reference: qemu,
    x86_64Reference: native,
  });
  assert.deepEqual(r.outcomes.map((o) => o.reference?.runner), ["qemu-user", "native-x86_64"]);
  assert.equal(qemu.calls.length, 1);
  assert.equal(native.calls.length, 1);
  assert.ok(r.notes.some((n) => n.startsWith("x86_64 cases: reference")));
  // Without one, an x86_64 case has no reference (judged alone when it can be, else skipped).
  const alone = await runMatrix({ cases: [x86], subject: echo("elfuse"), reference: qemu });
  assert.equal(alone.outcomes[0].reference, undefined);
});
