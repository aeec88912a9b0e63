// Which translator an x86-64 program gets, and how it is handed the program.
import assert from "node:assert/strict";
import { type ElfImage, EM_AARCH64, EM_X86_64 } from "../elf/parse.ts";
import { Sysroot } from "../sysroot/resolve.ts";
import { isYes } from "./start.ts";
import {
  AT_EXECFD,
  BINFMT_FLAGS,
  binfmtHandOver,
  BOX64_GUEST_PATH,
  defaultX86SysrootDir,
  findTranslator,
  handOver,
  handOverArgv,
  type Translator,
  translatorProblem,
} from "./translator.ts";
import { ROSETTA_PATH } from "./rosetta.ts";

const linux = { os: "linux", arch: "x86_64" };

function withRoot(fn: (root: string) => void) {
  const root = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-x86-" }));
  try {
    fn(root);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

Deno.test("the translator: --x86-translator first, then the sysroot's box64, then none", () => {
  withRoot((root) => {
    const sysroot = new Sysroot(root);
    let t = findTranslator({}, { ...linux, sysroot });
    assert.ok("error" in t);
    assert.match(t.error, /has no \/usr\/bin\/box64/);
    assert.match(t.error, /elfuse sysroot create --suite sid DIR box64/);
    assert.doesNotMatch(t.error, /softwareupdate/); // Rosetta only on Apple Silicon
    Deno.mkdirSync(`${root}/usr/bin`, { recursive: true });
    Deno.writeFileSync(`${root}${BOX64_GUEST_PATH}`, new Uint8Array(4));
    t = findTranslator({}, { ...linux, sysroot });
    assert.deepEqual(t, {
      kind: "box64",
      hostPath: `${root}${BOX64_GUEST_PATH}`,
      guestPath: BOX64_GUEST_PATH,
      source: "the sysroot",
    });
    // A named one wins, and the guest sees it by its path inside the sysroot.
    Deno.writeFileSync(`${root}/usr/bin/box64-git`, new Uint8Array(4));
    t = findTranslator({ x86Translator: `${root}/usr/bin/box64-git` }, { ...linux, sysroot });
    assert.ok(!("error" in t));
    assert.equal(t.guestPath, "/usr/bin/box64-git");
    assert.equal(t.kind, "box64");
    t = findTranslator({ x86Translator: `${root}/nope` }, { ...linux, sysroot });
    assert.ok("error" in t);
    assert.match(t.error, /nope: no such file/);
    t = findTranslator({ noX86: true }, { ...linux, sysroot });
    assert.ok("error" in t);
    assert.match(t.error, /refused/);
  });
});

Deno.test("the translator: Rosetta only on Apple Silicon with hvf, an install hint when missing", () => {
  const mac = { os: "darwin", arch: "aarch64", backend: "hvf" };
  let t = findTranslator({}, { ...mac, exists: (p) => p === ROSETTA_PATH });
  assert.ok(!("error" in t));
  assert.equal(t.kind, "rosetta");
  t = findTranslator({}, { ...mac, backend: "unicorn", exists: (p) => p === ROSETTA_PATH });
  assert.ok("error" in t, "Rosetta runs only in Apple's hypervisor, not under Unicorn");
  t = findTranslator({}, { ...mac, backend: "hvf-sim", exists: (p) => p === ROSETTA_PATH });
  assert.ok("error" in t, "nor under the simulator");
  t = findTranslator({}, { ...mac, exists: () => false });
  assert.ok("error" in t);
  assert.match(t.error, /softwareupdate --install-rosetta/);
  t = findTranslator({}, { os: "darwin", arch: "x86_64", exists: () => true });
  assert.ok("error" in t, "an Intel Mac has no Linux Rosetta");
});

const elf = (machine: number, interpreter?: string): ElfImage => ({
  type: 3,
  machine,
  entry: 0,
  phoff: 64,
  phentsize: 56,
  phnum: 0,
  phdrs: [],
  interpreter,
  execStack: false,
});

Deno.test("what a translator cannot run is said in one line", () => {
  const box64: Translator = { kind: "box64", hostPath: "/b", guestPath: "/b", source: "" };
  const other: Translator = { ...box64, kind: "other" };
  const rosetta: Translator = { ...box64, kind: "rosetta" };
  const dynamic = elf(EM_X86_64, "/lib64/ld-linux-x86-64.so.2");
  assert.equal(translatorProblem(box64, dynamic), undefined);
  assert.match(translatorProblem(box64, elf(EM_X86_64))!, /static x86-64 program/);
  assert.equal(translatorProblem(other, elf(EM_X86_64)), undefined);
  assert.match(
    translatorProblem(rosetta, dynamic)!,
    /Rosetta hosting is not complete.*TSO, upper-half mmaps.*neither it nor rosettad has ever run on a Mac/,
  );
  assert.match(translatorProblem(box64, elf(EM_AARCH64))!, /not an x86-64 program/);
  // A stand-in playing Rosetta's role is not Apple's Rosetta: it runs.
  assert.equal(translatorProblem({ ...rosetta, standIn: true }, dynamic), undefined);
});

Deno.test("ELFUSE_X86_STANDIN=rosetta: the named translator is handed programs as Rosetta is", () => {
  withRoot((root) => {
    const path = `${root}/standin`;
    Deno.writeTextFileSync(path, "");
    const t = findTranslator({ x86Translator: path, x86StandIn: true }, linux);
    assert.ok(!("error" in t));
    assert.equal(t.kind, "rosetta");
    assert.equal(t.standIn, true);
    assert.equal(handOver(t, "./p", ["p"]).openProgram, true);
    // Without it, the same file is any translator, handed the path only.
    const plain = findTranslator({ x86Translator: path }, linux);
    assert.ok(!("error" in plain));
    assert.equal(plain.kind, "other");
    assert.equal(plain.standIn, undefined);
  });
});

Deno.test("the hand-over is binfmt_misc's argv: translator, the path as given, argv[1...]", () => {
  const t: Translator = {
    kind: "box64",
    hostPath: "/s/usr/bin/box64",
    guestPath: "/usr/bin/box64",
    source: "",
  };
  assert.deepEqual(handOverArgv(t, "./prog", ["custom-argv0", "a", "b c"]), [
    "/usr/bin/box64",
    "./prog",
    "a",
    "b c",
  ]);
  assert.deepEqual(handOverArgv(t, "/bin/x", []), ["/usr/bin/box64", "/bin/x"]);
  assert.equal(handOver(t, "/bin/x", ["x"]).openProgram, false, "box64 reads the path");
});

Deno.test("Rosetta's hand-over: flags CF, so the same argv and the program opened (AT_EXECFD)", () => {
  const t: Translator = {
    kind: "rosetta",
    hostPath: ROSETTA_PATH,
    guestPath: ROSETTA_PATH,
    source: "",
  };
  assert.equal(BINFMT_FLAGS.rosetta, "CF");
  assert.deepEqual(handOver(t, "./x86prog", ["argv0", "-v"]), {
    argv: [ROSETTA_PATH, "./x86prog", "-v"],
    openProgram: true,
  });
  assert.equal(AT_EXECFD, 2);
});

Deno.test("binfmt_misc's flags as fs/binfmt_misc.c reads them: P keeps argv[0], O or C opens", () => {
  const argv = ["a0", "a1"];
  assert.deepEqual(binfmtHandOver("", "/i", "/p", argv), {
    argv: ["/i", "/p", "a1"],
    openProgram: false,
  });
  assert.deepEqual(binfmtHandOver("P", "/i", "/p", argv).argv, ["/i", "/p", "a0", "a1"]);
  assert.equal(binfmtHandOver("O", "/i", "/p", argv).openProgram, true);
  assert.equal(binfmtHandOver("C", "/i", "/p", argv).openProgram, true);
  assert.equal(binfmtHandOver("F", "/i", "/p", argv).openProgram, false);
});

Deno.test("box64's default sysroot: ELFUSE_X86_SYSROOT, then the XDG cache, then ~/.cache", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(defaultX86SysrootDir(env({ ELFUSE_X86_SYSROOT: "/x", HOME: "/h" })), "/x");
  assert.equal(
    defaultX86SysrootDir(env({ XDG_CACHE_HOME: "/c", HOME: "/h" })),
    "/c/elfuse/x86-sysroot",
  );
  assert.equal(defaultX86SysrootDir(env({ HOME: "/h" })), "/h/.cache/elfuse/x86-sysroot");
  assert.equal(defaultX86SysrootDir(env({})), undefined);
});

Deno.test("only y or yes agrees to fetching box64", () => {
  for (const a of ["y\n", "Y", " yes \n", "YES"]) assert.ok(isYes(a), a);
  for (const a of ["", "\n", "n", "no", "yy", "sure", "y es"]) assert.ok(!isYes(a), a);
});
