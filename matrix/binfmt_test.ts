import assert from "node:assert/strict";
import { type BinfmtState, parseEntry } from "../runtime/host/binfmt_misc.ts";
import { execFollowing, execProblem, isQemuInterpreter } from "./binfmt.ts";

/** Debian's qemu-user-binfmt entry, as the kernel shows it. */
const DEBIAN_QEMU = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: P
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;

function state(entries: Record<string, string>, mounted = true, enabled = true): BinfmtState {
  return {
    root: "/proc/sys/fs/binfmt_misc",
    mounted,
    enabled,
    entries: Object.entries(entries).map(([name, content]) => parseEntry(name, content)),
  };
}

/** Every interpreter "exists" and is what its name says. */
const same = (p: string | undefined) => p;

const entry = (interpreter: string, flags: string) =>
  DEBIAN_QEMU.replace(/interpreter .*/, `interpreter ${interpreter}`).replace(
    /flags: .*/,
    `flags: ${flags}`,
  );

Deno.test("execFollowing: no entry, not mounted, disabled: qemu-user cannot follow", () => {
  for (
    const s of [
      state({}),
      state({}, false, false),
      state({ "qemu-aarch64": DEBIAN_QEMU }, true, false),
      state({ "qemu-aarch64": DEBIAN_QEMU.replace("enabled", "disabled") }),
    ]
  ) {
    const f = execFollowing(s, same);
    assert.equal(f.kind, "none", f.message);
    assert.match(f.message, /qemu-user cannot follow an execve/);
  }
});

Deno.test("execFollowing: qemu with flag P is faithful, whatever its name and other flags", () => {
  for (
    const [interp, flags] of [
      ["/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "P"],
      ["/usr/bin/qemu-aarch64", "POCF"],
      ["/usr/bin/qemu-aarch64-static", "PF"],
      ["/usr/local/bin/qemu-aarch64-static", "OCP"],
    ]
  ) {
    const f = execFollowing(state({ q: entry(interp, flags) }), same);
    assert.equal(f.kind, "faithful", `${interp} ${flags}: ${f.message}`);
  }
  // A symlink with another name counts by what it points to.
  const linked = execFollowing(
    state({ q: entry("/usr/lib/binfmt/arm64", "P") }),
    () => "/usr/bin/qemu-aarch64-static",
  );
  assert.equal(linked.kind, "faithful");
});

Deno.test("execFollowing: no flag P, or not qemu, is unfaithful and says why", () => {
  const noP = execFollowing(state({ "qemu-aarch64": entry("/usr/bin/qemu-aarch64", "F") }), same);
  assert.equal(noP.kind, "unfaithful");
  assert.match(noP.message, /qemu-aarch64 lacks flag P.*argv\[0\]/);
  const elfuse = execFollowing(state({ elfuse: entry("/opt/elfuse/elfuse-binfmt", "P") }), same);
  assert.equal(elfuse.kind, "unfaithful");
  assert.match(elfuse.message, /runs under \/opt\/elfuse\/elfuse-binfmt, not qemu-user/);
  // Two entries, one of them not qemu: which runs is the kernel's choice, so neither is trusted.
  const both = execFollowing(
    state({ elfuse: entry("/opt/elfuse/elfuse-binfmt", "P"), "qemu-aarch64": DEBIAN_QEMU }),
    same,
  );
  assert.equal(both.kind, "unfaithful");
});

Deno.test("execFollowing: an interpreter that is gone counts only with flag F", () => {
  const gone = () => undefined;
  assert.equal(execFollowing(state({ q: entry("/gone/qemu-aarch64", "P") }), gone).kind, "none");
  assert.equal(
    execFollowing(state({ q: entry("/gone/qemu-aarch64", "PF") }), gone).kind,
    "faithful",
  );
  assert.equal(isQemuInterpreter("/usr/bin/qemu-aarch64"), true);
  assert.equal(isQemuInterpreter("/usr/bin/qemu-aarch64-static"), true);
  assert.equal(isQemuInterpreter("/usr/bin/qemu-arm"), false);
  assert.equal(isQemuInterpreter("/x/elfuse", "/usr/bin/qemu-aarch64"), true);
});

Deno.test("execProblem: which cases each kind lets the reference run", () => {
  const none = { kind: "none", message: "none" } as const;
  const faithful = { kind: "faithful", message: "ok" } as const;
  const unfaithful = { kind: "unfaithful", message: "bad" } as const;
  assert.equal(execProblem(none, {}), null);
  assert.equal(execProblem(none, { mayExec: true }), null);
  assert.equal(execProblem(none, { needsExec: true }), "none");
  assert.equal(execProblem(faithful, { needsExec: true, mayExec: true }), null);
  assert.equal(execProblem(unfaithful, { mayExec: true }), "bad");
  assert.equal(execProblem(unfaithful, { needsExec: true }), "bad");
  assert.equal(execProblem(unfaithful, {}), null);
});
