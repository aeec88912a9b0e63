// Rosetta's hand-over, played by a stand-in (fixtures/translator/rosetta_standin.h): an AArch64
// program that ELFUSE_X86_STANDIN=rosetta makes elfuse treat as Rosetta. It prints what it was
// handed (argv, AT_EXECFD and the program behind it) and what the VZ ioctls answer on its own
// /proc/self/exe, and talks to the rosettad bridge CAPS announces, whose translator is a stand-in
// for rosettad (fixtures/translator/rosettad_standin.c, run by elfuse) or a shell script. Apple's
// Rosetta and rosettad never run here (docs/x86_64.md). Needs the stand-ins and the x86-64
// fixtures (deno task fixtures on an x86-64 Linux host) and busybox (./dev setup).
import assert from "node:assert/strict";
import { runCliWith } from "../testing.ts";

const repo = new URL("../../", import.meta.url).pathname;
const build = `${repo}fixtures/build`;
const standIn = `${build}/rosetta_standin`;
const standInHigh = `${build}/rosetta_standin_high`;
const rosettadStandIn = `${build}/rosettad_standin`;
const hello = `${build}/x86_hello`;
const busybox = `${repo}.tools/debs/busybox-static/bin/busybox`;
const present = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};
const missing = [standIn, standInHigh, rosettadStandIn, hello, busybox].filter((p) => !present(p));
const ignore = missing.length > 0;
if (ignore) console.error(`Rosetta stand-in tests ignored: missing ${missing.join(", ")}`);

/** A temporary $HOME (the .aot cache is under it) for `fn`, removed after. */
async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = Deno.makeTempDirSync({ prefix: "elfuse-rosettad-" });
  try {
    await fn(home);
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
}

/** The stand-in plays Rosetta; the .aot cache is under `home`; rosettad is its stand-in. */
const asRosetta = (home: string, more: Record<string, string> = {}) => ({
  ELFUSE_X86_STANDIN: "rosetta",
  HOME: home,
  ELFUSE_ROSETTAD: rosettadStandIn,
  ...more,
});

const SOCKET = "/run/rosettad/rosetta.sock";

/** The SHA-256 of a file, in hex. */
async function sha256(path: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", Deno.readFileSync(path)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What the stand-in prints of its exchange with the rosettad bridge about `program`: the .aot's
 * first line when the translation succeeds (the digest's first 4 bytes in hex beside it), else
 * the MISS.
 */
function exchange(program: string, aot?: { line: string; digest: string }): string[] {
  const t = aot === undefined ? [`rosettad t ${program}: 1 bytes, 0`] : [
    `rosettad t ${program}: 1 bytes, 1`, // HIT
    `rosettad t digest: 32 bytes, ${aot.digest.slice(0, 8)}...`,
    `rosettad t aot: ${aot.line}`, // the .aot fd, passed with a one-byte iov
    "rosettad d (translated): 1 bytes, 1", // the digest is now cached
    `rosettad d aot: ${aot.line}`,
  ];
  return [
    `rosettad connect ${SOCKET}: 0`,
    "rosettad ?: 1 bytes, 1", // the handshake: HIT
    "rosettad d (made up): 1 bytes, 0", // MISS
    ...t,
    "rosettad x: 1 bytes, 0", // an unknown request: MISS, and the exchange goes on
    "rosettad after q: 0", // quit: the bridge closes its end
  ];
}

/** The rosettad stand-in's line for `program`. */
function standInAot(program: string): string {
  return `rosettad stand-in: ${Deno.statSync(program).size} bytes, machine 62`;
}

/** What the stand-in prints when handed `program` with `args` and the program open as `fd`. */
function handed(
  program: string,
  args: string[],
  fd: number,
  check = "-25",
  translator = standIn,
  bridge: string[] = [],
): string {
  return [
    `argv[0]: ${translator}`,
    `argv[1]: ${program}`,
    ...args.map((a, i) => `argv[${i + 2}]: ${a}`),
    `execfd: ${fd}`,
    "execfd cloexec: 0 read: 64 machine: 62", // not close-on-exec; the x86-64 ELF header
    `vz check: ${check}`,
    `vz key: ${check}`,
    `vz caps: 0 enable: 1 name: ${SOCKET}`, // the rosettad bridge, at Apple's default name
    "vz activate: 0",
    "vz check on execfd: -25", // only its own binary's descriptor answers
    ...bridge,
    "",
  ].join("\n");
}

for (const backend of ["unicorn", "hvf-sim"]) {
  Deno.test({
    name: `Rosetta stand-in (${backend}): argv, AT_EXECFD, the VZ ioctls and the rosettad bridge`,
    ignore,
    fn: async () => {
      await withHome(async (home) => {
        const r = await runCliWith(
          asRosetta(home),
          "--backend",
          backend,
          "--x86-translator",
          standIn,
          hello,
          "a",
          "b c",
        );
        assert.equal(r.code, 0, r.stderr);
        const digest = await sha256(hello);
        const line = standInAot(hello);
        assert.equal(
          r.stdout,
          handed(hello, ["a", "b c"], 3, "-25", standIn, exchange(hello, { line, digest })),
        );
        // The translation is cached under its digest, alone: the temporary files are gone.
        const cache = `${home}/.cache/elfuse-rosettad`;
        assert.deepEqual([...Deno.readDirSync(cache)].map((e) => e.name), [`${digest}.aot`]);
        assert.equal(Deno.readTextFileSync(`${cache}/${digest}.aot`), line + "\n");
      });
    },
  });
}

Deno.test({
  name: "Rosetta stand-in: execve of an x86-64 program hands it the lowest free fd",
  ignore,
  fn: async () => {
    // fd 3 is taken by the shell's redirection, so the program is opened as 4.
    const script = "exec 3</dev/null; ./x86_hello one";
    await withHome(async (home) => {
      const r = await runCliWith(
        asRosetta(home),
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
      const aot = { line: standInAot(hello), digest: await sha256(hello) };
      const bridge = exchange("./x86_hello", aot); // CAPS names the program as execve got it
      assert.equal(r.stdout, handed("./x86_hello", ["one"], 4, "-25", standIn, bridge));
    });
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
    assert.doesNotMatch(r.stdout, /rosettad/, "no CAPS, no bridge");
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
        asRosetta(dir, { ELFUSE_VZ_SIGNATURE_FILE: file }),
        "-v",
        "--x86-translator",
        standIn,
        hello,
      );
      assert.equal(r.code, 0, r.stderr);
      const aot = { line: standInAot(hello), digest: await sha256(hello) };
      const bridge = exchange(hello, aot);
      assert.equal(r.stdout, handed(hello, [], 3, `0 fnv ${fnv(sig)}`, standIn, bridge));
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
      { ELFUSE_X86_STANDIN: "rosetta" },
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
    const r = await runCliWith(
      { ELFUSE_X86_STANDIN: "rosetta" },
      "--x86-translator",
      standInHigh,
      hello,
    );
    assert.equal(r.code, 126);
    assert.match(
      r.stderr,
      /^elfuse: \S+rosetta_standin_high: Rosetta runs only on the hvf backend\n$/,
    );
  },
});

/** A translator script in `home` (run as `sh SCRIPT translate IN OUT`), logging each run. */
function script(home: string, body: string): Record<string, string> {
  Deno.writeTextFileSync(`${home}/translate.sh`, `echo run >> ${home}/runs\n${body}\n`);
  return { ELFUSE_ROSETTAD_COMMAND: `sh ${home}/translate.sh` };
}

const runs = (home: string) => {
  try {
    return Deno.readTextFileSync(`${home}/runs`).split("\n").length - 1;
  } catch {
    return 0;
  }
};

Deno.test({
  name: "rosettad bridge: a second run is answered from the cache, the translator not run again",
  ignore,
  fn: async () => {
    await withHome(async (home) => {
      const env = asRosetta(home, script(home, `echo "aot by script" > "$3"`));
      const aot = { line: "aot by script", digest: await sha256(hello) };
      const want = handed(hello, [], 3, "-25", standIn, exchange(hello, aot));
      for (let i = 0; i < 2; i++) {
        const r = await runCliWith(env, "--x86-translator", standIn, hello);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, want);
      }
      assert.equal(runs(home), 1);
    });
  },
});

Deno.test({
  name: "rosettad bridge: a failing, silent or hung translator, or none, gets Rosetta a MISS",
  ignore,
  fn: async () => {
    const miss = handed(hello, [], 3, "-25", standIn, exchange(hello));
    const cases: [string, (home: string) => Record<string, string>][] = [
      ["exits 1", (h) => script(h, "exit 1")],
      ["writes nothing", (h) => script(h, `: > "$3"`)],
      // Killed after ELFUSE_ROSETTAD_TIMEOUT: exec, so the kill reaches the sleeping process.
      ["hangs", (h) => ({ ...script(h, "exec sleep 600"), ELFUSE_ROSETTAD_TIMEOUT: "0.5" })],
      // The default: elfuse running Apple's rosettad, which this machine does not have.
      ["is Apple's, not installed", () => ({ ELFUSE_ROSETTAD: "" })],
    ];
    for (const [what, env] of cases) {
      await withHome(async (home) => {
        const r = await runCliWith(
          asRosetta(home, env(home)),
          "-v",
          "--x86-translator",
          standIn,
          hello,
        );
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.equal(r.stdout, miss, what);
        assert.match(r.stderr, /rosettad: 't' miss: /, what);
        const cache = `${home}/.cache/elfuse-rosettad`;
        assert.deepEqual([...Deno.readDirSync(cache)], [], `${what}: nothing cached, nothing left`);
      });
    }
  },
});
