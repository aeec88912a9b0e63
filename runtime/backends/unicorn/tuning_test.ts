// The in-memory tuning of libunicorn (fast_stores.ts, exit_checks.ts, store_exits.ts): each finds its site exactly,
// applies once and can be turned off; the backend watches IC IVAU only once the guest has a page
// both writable and executable.
// (fixtures/c/mmap_exec.c is the guest-side proof: it rewrites an RWX page in place.)
import assert from "node:assert/strict";
import { AddressSpace } from "../../memory/address_space.ts";
import { batchMappings } from "../../memory/mapping_batch.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { enableFastStores, PATCHED_SITE, STORE_SITE } from "./fast_stores.ts";
import { findSites } from "./code_patch.ts";
import { RETURN, skipLoadExitChecks, TAIL, tailTarget } from "./exit_checks.ts";
import { exitingTail, FAILURE_TAIL, skipStoreExitChecks } from "./store_exits.ts";
import { openUnicorn } from "./ffi.ts";
import { UnicornBackend } from "./backend.ts";

Deno.test("fast stores: findSites reports every occurrence and nothing else", () => {
  const code = new Uint8Array(400).fill(0x90);
  assert.deepEqual(findSites(code, STORE_SITE), []);
  code.set(STORE_SITE, 5);
  code.set(STORE_SITE, 300);
  assert.deepEqual(findSites(code, STORE_SITE), [5, 300]);
  code.set(PATCHED_SITE, 300);
  assert.deepEqual(findSites(code, STORE_SITE), [5]);
  assert.deepEqual(findSites(code, PATCHED_SITE), [300]);
  // A site cut off by the end of the scanned bytes is not a site.
  assert.deepEqual(findSites(code.subarray(0, 20), STORE_SITE), []);
});

/** The project's libunicorn (Debian sid 2.1.4-4), which the patch knows. */
function projectLibrary(): string | undefined {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return undefined;
  try {
    const { path } = openUnicorn();
    return path.includes("/.tools/unicorn/sid/") ? path : undefined;
  } catch {
    return undefined;
  }
}
const library = projectLibrary();

Deno.test({
  name: "fast stores: the project's libunicorn is patched once; a second call finds it done",
  ignore: library === undefined,
  fn() {
    const fn = openUnicorn().lib.tlb_set_page_with_attrs_aarch64;
    assert.ok(fn !== null, "exported");
    assert.equal(enableFastStores(fn), "");
    const code = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(fn, 0x800));
    assert.deepEqual(findSites(code, STORE_SITE), [], "no unpatched site is left");
    assert.equal(findSites(code, PATCHED_SITE).length, 1, "exactly one patched site");
    assert.equal(enableFastStores(fn), "");
    assert.equal(enableFastStores(null), "tlb_set_page_with_attrs_aarch64 not exported");
  },
});

Deno.test({
  name: "fast stores: ELFUSE_UNICORN_TUNING=0 leaves the library alone, and -v says which",
  ignore: library === undefined,
  async fn() {
    const cli = new URL("../../../cli.ts", import.meta.url).pathname;
    const hello = new URL("../../../fixtures/build/hello", import.meta.url).pathname;
    const run = async (value: string | undefined) => {
      const env: Record<string, string> = {};
      if (value !== undefined) env.ELFUSE_UNICORN_TUNING = value;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "-v", hello],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0);
      assert.equal(new TextDecoder().decode(out.stdout), "hello, world\n");
      return new TextDecoder().decode(out.stderr);
    };
    assert.match(
      await run(undefined),
      /unicorn 2\.1\.4 .*, fast stores, no exit checks after loads or stores\n/,
    );
    const off = await run("0");
    assert.match(off, /stores on the slow path: off \(ELFUSE_UNICORN_TUNING=0\)/);
    assert.match(off, /exit checks after loads: off \(ELFUSE_UNICORN_TUNING=0\)/);
  },
});

/** A Unicorn backend behind an address space, as a run has them. */
function guestMemory() {
  const as = new AddressSpace();
  const b = new UnicornBackend({ hostBase: as.slab.base, size: as.slab.size });
  as.mapper = b;
  b.createVcpu();
  return { as, b };
}
const ANON = 0x22; // MAP_PRIVATE | MAP_ANONYMOUS

Deno.test({
  name: "IC IVAU is watched from the first page that is writable and executable at once",
  ignore: library === undefined,
  fn() {
    const { as, b } = guestMemory();
    try {
      assert.equal(b.slowStores, "");
      const code = as.mmap(0, 0x1000, PROT_READ | PROT_EXEC, ANON, undefined, 0);
      const data = as.mmap(0, 0x1000, PROT_READ | PROT_WRITE, ANON, undefined, 0);
      assert.ok(code > 0 && data > 0);
      assert.equal(as.mprotect(code, 0x1000, PROT_READ | PROT_WRITE), 0);
      assert.equal(as.mprotect(code, 0x1000, PROT_READ | PROT_EXEC), 0);
      assert.equal(b.watchingCodeWrites, false, "W^X changes go through mprotect: no hook");
      assert.equal(as.mprotect(data, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
      assert.equal(b.watchingCodeWrites, true, "an RWX page needs it");
    } finally {
      b.close();
    }
  },
});

Deno.test({
  name: "IC IVAU is watched for a shared executable mapping, and for RWX mapped during exec",
  ignore: library === undefined,
  async fn() {
    const path = await Deno.makeTempFile();
    const file = await Deno.open(path, { read: true, write: true });
    try {
      await file.truncate(0x1000);
      const shared = guestMemory();
      const mapped = { hostFd: hostFdOf(path), size: 0x1000, name: path, writable: true };
      const at = shared.as.mmap(0, 0x1000, PROT_READ | PROT_EXEC, 0x01, mapped, 0);
      assert.ok(at > 0, `mmap: ${at}`);
      assert.equal(shared.b.watchingCodeWrites, true, "a double-mapping JIT writes it elsewhere");
      shared.b.close();

      const exec = guestMemory();
      batchMappings(exec.as, () => {
        exec.as.mapFixed(0x7000_0000, 0x4000, PROT_READ | PROT_WRITE | PROT_EXEC, "[stack]");
      });
      assert.equal(exec.b.watchingCodeWrites, true, "an executable stack mapped inside a batch");
      exec.b.close();
    } finally {
      file.close();
      await Deno.remove(path);
    }
  },
});

/** The host fd number this process has open on `path`. */
function hostFdOf(path: string): number {
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === path) return Number(e.name);
    } catch {
      // closed meanwhile
    }
  }
  throw new Error(`${path} is not open`);
}

Deno.test("exit checks: tailTarget finds the first tail jump and where it goes", () => {
  const code = new Uint8Array(64).fill(0x90);
  assert.equal(tailTarget(code, 0x1000), -1);
  code.set([...TAIL, 0x10, 0x00, 0x00, 0x00], 20); // jmp +0x10 from the end of the jmp
  assert.equal(tailTarget(code, 0x1000), 0x1000 + 29 + 5 + 0x10);
  code.set([...TAIL, 0xf0, 0xff, 0xff, 0xff], 40); // the next function's
  assert.equal(tailTarget(code, 0x1000), 0x1000 + 29 + 5 + 0x10);
});

Deno.test({
  name: "exit checks: the project's libunicorn loads end in a return; stores too, once they exit",
  ignore: library === undefined,
  fn() {
    const generators = openUnicorn().lib;
    assert.equal(skipLoadExitChecks(generators), "");
    assert.equal(skipLoadExitChecks(generators), "", "a second call finds it done");
    assert.equal(
      skipLoadExitChecks({ ...generators, tcg_gen_qemu_ld_i64_aarch64: null }),
      "tcg_gen_qemu_*_aarch64 not exported",
    );
    assert.equal(skipStoreExitChecks(generators), "");
    assert.equal(skipStoreExitChecks(generators), "", "a second call finds it done");
    assert.equal(
      skipStoreExitChecks({ ...generators, cpu_loop_exit_restore_aarch64: null }),
      "store_helper's neighbours not exported",
    );
    const lib = Deno.dlopen(library!, {
      tcg_gen_qemu_ld_i32_aarch64: { type: "pointer" },
      tcg_gen_qemu_ld_i64_aarch64: { type: "pointer" },
      tcg_gen_qemu_st_i32_aarch64: { type: "pointer" },
      tcg_gen_qemu_st_i64_aarch64: { type: "pointer" },
    });
    const code = (p: unknown) =>
      new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p as Deno.PointerObject, 0x60));
    const s = lib.symbols;
    for (
      const gen of [
        s.tcg_gen_qemu_ld_i32_aarch64,
        s.tcg_gen_qemu_ld_i64_aarch64,
        s.tcg_gen_qemu_st_i32_aarch64,
        s.tcg_gen_qemu_st_i64_aarch64,
      ]
    ) {
      const c = code(gen);
      assert.deepEqual(findSites(c, TAIL), [], "no tail jump left");
      const at = findSites(c, TAIL.subarray(0, 9)).find((i) => c[i + 9] === RETURN[0]);
      assert.ok(at !== undefined, "a return in its place");
    }
    lib.close();
  },
});

Deno.test("store exits: the new failure tail calls cpu_exit, then cpu_loop_exit_restore", () => {
  const at = 0x57_5aad, exit = 0x3a_9200, leave = 0x57_1e50;
  const tail = exitingTail(at, exit, leave);
  assert.equal(tail.length, FAILURE_TAIL.length + 4 + 5, "as long as the tail it replaces");
  const call = (i: number) => at + i + 5 + new DataView(tail.buffer).getInt32(i + 1, true);
  assert.equal(tail[8], 0xe8);
  assert.equal(call(8), exit);
  assert.equal(tail[26], 0xe8);
  assert.equal(call(26), leave);
  assert.deepEqual([...tail.subarray(21, 26)], [0x48, 0x8b, 0x74, 0x24, 0x18], "retaddr in rsi");
});
