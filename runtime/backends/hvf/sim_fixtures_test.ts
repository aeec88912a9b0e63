// The hvf-sim lane: a handful of fixtures through the real shim, page tables and run loop on the
// Unicorn simulator, each chosen for a path of the hvf backend (the full catalog runs with
// `deno task test-hvf-sim`). Skipped when the fixtures are not built or libunicorn is older than
// 2.1.4.
import assert from "node:assert/strict";
import { fixtures } from "../../../fixtures/catalog.ts";
import { openUnicorn } from "../unicorn/ffi.ts";

const root = new URL("../../../", import.meta.url).pathname;

/** Fixture -> the hvf path it exercises. */
const lane: Record<string, string> = {
  hello: "SVC -> EL1 vector -> HVC #5 -> ERET, glibc start-up",
  segv: "EL0 translation fault forwarded with HVC #11",
  exec_nx: "instruction abort on a UXN page",
  write_rodata: "permission fault on a read-only page",
  mmap_exec: "W^X flips of RWX pages and code replaced behind the CPU",
  munmap_mprotect: "block splits and TLB maintenance on mprotect/munmap",
  sigaction: "signal frames: saveGeneral/loadGeneral and FP/SIMD through the frame",
  static_pie: "a static PIE loaded high (2/3 of the address space)",
  libc_malloc: "malloc arenas: brk and mmap growth, 2 MiB blocks and splits",
  sig_regs: "x9-x28, q0-q31, NZCV, FPCR and FPSR's flags through signal frames",
  mmap_anon: "MAP_FIXED into the shim window: ENOMEM (Backend.reserved), not a crash",
  mmap_edges: "pages past a file's end left out of the page tables (SIGBUS), mapped once it grows",
};

function available(): string | undefined {
  try {
    const { lib } = openUnicorn();
    const v = lib.uc_version(0, 0);
    if (((v >>> 24) * 10000 + ((v >>> 16) & 0xff) * 100 + ((v >>> 8) & 0xff)) < 20104) {
      return "libunicorn older than 2.1.4";
    }
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

const skip = available();

for (const f of fixtures.filter((f) => f.name in lane)) {
  Deno.test({
    name: `hvf-sim: ${f.name} (${lane[f.name]})`,
    ignore: skip !== undefined || !exists(`${root}fixtures/build/${f.name}`),
    fn: async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${root}cli.ts`,
          "-v",
          "--backend",
          "hvf-sim",
          "--timeout",
          "30",
          `${root}fixtures/build/${f.name}`,
          ...(f.args ?? []),
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        cwd: Deno.makeTempDirSync({ prefix: "elfuse-hvfsim-" }),
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      const shown = `exit ${out.code} ${out.signal ?? ""}\n${stdout.slice(-2000)}\n${
        stderr.slice(-2000)
      }`;
      assert.match(stderr, /hvf-sim: Hypervisor\.framework simulated on unicorn/, shown);
      if (f.expect.kind === "self-check") {
        assert.match(stdout, /^\d+ passed, 0 failed$/m, shown);
        assert.equal(out.code, 0, shown);
      } else if (f.expect.kind === "exact") {
        if (f.expect.signal) assert.equal(out.signal, f.expect.signal, shown);
        else assert.equal(out.code, f.expect.exit, shown);
        if (f.expect.stdout !== undefined) assert.equal(stdout, f.expect.stdout, shown);
      } else assert.equal(out.code, 0, shown);
    },
  });
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
