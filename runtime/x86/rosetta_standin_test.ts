// Rosetta's hand-over, played by a stand-in (fixtures/translator/rosetta_standin.h): an AArch64
// program that ELFUSE_X86_STANDIN=rosetta makes elfuse treat as Rosetta. It prints what it was
// handed (argv, AT_EXECFD and the program behind it) and what the VZ ioctls answer on its own
// /proc/self/exe. Apple's Rosetta never runs here (docs/x86_64.md). Needs the stand-in and the
// x86-64 fixtures (deno task fixtures on an x86-64 Linux host) and busybox (./dev setup).
import assert from "node:assert/strict";
import { runCliWith } from "../testing.ts";

const repo = new URL("../../", import.meta.url).pathname;
const build = `${repo}fixtures/build`;
const standIn = `${build}/rosetta_standin`;
const standInHigh = `${build}/rosetta_standin_high`;
const hello = `${build}/x86_hello`;
const busybox = `${repo}.tools/debs/busybox-static/bin/busybox`;
const present = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};
const missing = [standIn, standInHigh, hello, busybox].filter((p) => !present(p));
const ignore = missing.length > 0;
if (ignore) console.error(`Rosetta stand-in tests ignored: missing ${missing.join(", ")}`);

const asRosetta = { ELFUSE_X86_STANDIN: "rosetta" };

/** What the stand-in prints when handed `program` with `args` and the program open as `fd`. */
function handed(
  program: string,
  args: string[],
  fd: number,
  check = "-25",
  translator = standIn,
): string {
  return [
    `argv[0]: ${translator}`,
    `argv[1]: ${program}`,
    ...args.map((a, i) => `argv[${i + 2}]: ${a}`),
    `execfd: ${fd}`,
    "execfd cloexec: 0 read: 64 machine: 62", // not close-on-exec; the x86-64 ELF header
    `vz check: ${check}`,
    `vz key: ${check}`,
    "vz caps: 0 enable: 0 name: ", // no rosettad bridge: all 128 bytes zero
    "vz activate: 0",
    "vz check on execfd: -25", // only its own binary's descriptor answers
    "",
  ].join("\n");
}

for (const backend of ["unicorn", "hvf-sim"]) {
  Deno.test({
    name: `Rosetta stand-in (${backend}): argv, AT_EXECFD and the VZ ioctls from the command line`,
    ignore,
    fn: async () => {
      const r = await runCliWith(
        asRosetta,
        "--backend",
        backend,
        "--x86-translator",
        standIn,
        hello,
        "a",
        "b c",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, handed(hello, ["a", "b c"], 3));
    },
  });
}

Deno.test({
  name: "Rosetta stand-in: execve of an x86-64 program hands it the lowest free fd",
  ignore,
  fn: async () => {
    // fd 3 is taken by the shell's redirection, so the program is opened as 4.
    const script = "exec 3</dev/null; ./x86_hello one";
    const r = await runCliWith(
      asRosetta,
      "--x86-translator",
      standIn,
      "--workdir",
      build,
      busybox,
      "sh",
      "-c",
      script,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, handed("./x86_hello", ["one"], 4));
  },
});

Deno.test({
  name: "Rosetta stand-in: without ELFUSE_X86_STANDIN it is any translator (no AT_EXECFD, no VZ)",
  ignore,
  fn: async () => {
    const r = await runCliWith({}, "--x86-translator", standIn, hello);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^execfd: -1$/m);
    assert.match(r.stdout, /^vz caps: -25 /m);
    const bad = await runCliWith(
      { ELFUSE_X86_STANDIN: "box64" },
      "--x86-translator",
      standIn,
      hello,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^elfuse: ELFUSE_X86_STANDIN=box64: the only stand-in is rosetta\n$/);
  },
});

/** FNV-1a, as the stand-in prints it. */
function fnv(bytes: Uint8Array): string {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16).padStart(8, "0");
}

Deno.test({
  name: "Rosetta stand-in: CHECK answers the signature ELFUSE_VZ_SIGNATURE_FILE holds",
  ignore,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "elfuse-vz-" });
    try {
      // Made up, of the signature's shape (vz_signature.ts): never Apple's.
      const sig = new Uint8Array(69);
      sig.set(
        new TextEncoder().encode("made-up line\nanother made-up line\n\u00a9 Nobody".padEnd(67)),
      );
      const file = `${dir}/sig`;
      Deno.writeFileSync(file, sig);
      const r = await runCliWith(
        { ...asRosetta, ELFUSE_VZ_SIGNATURE_FILE: file },
        "-v",
        "--x86-translator",
        standIn,
        hello,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, handed(hello, [], 3, `0 fnv ${fnv(sig)}`));
      assert.match(r.stderr, /VZ signature: from ELFUSE_VZ_SIGNATURE_FILE /);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Rosetta stand-in at 128 TiB (hvf-sim): its image, kbuf and high mappings through aliases",
  ignore,
  fn: async () => {
    const r = await runCliWith(
      asRosetta,
      "--backend",
      "hvf-sim",
      "--x86-translator",
      standInHigh,
      hello,
      "a",
    );
    assert.equal(r.code, 0, r.stderr);
    // Every buffer it hands the kernel is in its image at 128 TiB (static), so each line that
    // arrives went through the alias table: write(2) of it, the ioctl answers into it.
    assert.equal(
      r.stdout,
      handed(hello, ["a"], 3, "-25", standInHigh) + [
        "jit mmap: at 240 TiB", // MAP_FIXED far above the slab: an alias to fresh slab pages
        "jit byte: 5a zero: 0",
        "jit through write", // the kernel reads the JIT area through the alias
        "jit mprotect: 0",
        "clock_gettime into read-only jit: -14", // EFAULT, as for any read-only page
        "jit munmap: 0",
        "write from unmapped jit: -14",
        "kbuf through TTBR1", // a pointer with bits 63:48 set, resolved as the MMU does
        "clock_gettime into TTBR1 kbuf: 0 seen at TTBR0: yes",
        "image mprotect: 0 clock_gettime into it: -14 back: 0", // its own image's protection
        "",
      ].join("\n"),
    );
  },
});

Deno.test({
  name: "Rosetta stand-in at 128 TiB: Unicorn cannot place it, in one line",
  ignore,
  fn: async () => {
    const r = await runCliWith(asRosetta, "--x86-translator", standInHigh, hello);
    assert.equal(r.code, 126);
    assert.match(
      r.stderr,
      /^elfuse: \S+rosetta_standin_high: Rosetta runs only on the hvf backend\n$/,
    );
  },
});
