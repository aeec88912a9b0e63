/**
 * The busybox corpus: Debian's static arm64 busybox, run as `busybox APPLET args`, over inputs the
 * matrix generates itself (seeded text and binary data, from a few bytes to several MiB). No case
 * forks or execs: each step is one applet in one process (pipelines are out of scope), and a case
 * with several steps runs them one after another in the same directory.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  binary,
  csvTable,
  gzip,
  numberLines,
  once,
  repeatedLines,
  tar,
  textLines,
} from "./inputs.ts";
import { type Case, type Comparison, DEFAULT_MTIME, type FileSpec, type Step } from "./types.ts";

/** Where tools/setup.sh unpacks busybox, relative to the repository. */
export const BUSYBOX_PATH = ".tools/debs/busybox-static/bin/busybox";

const DAY = 86400;
const KiB = 1024;
const MiB = 1024 * 1024;

// Inputs, each made once per process however many cases and runs use it.
const small = once(() => textLines(1, 600));
const text64k = once(() => textLines(2, 64 * KiB));
const text1m = once(() => textLines(3, MiB));
const text4m = once(() => textLines(4, 4 * MiB));
const bin7 = once(() => binary(5, 7));
const bin1k = once(() => binary(6, KiB));
const bin1m = once(() => binary(7, MiB));
const bin8m = once(() => binary(8, 8 * MiB));
const csv = once(() => new TextEncoder().encode(csvTable(9, 400)));
const nums = once(() => new TextEncoder().encode(numberLines(10, 5000)));
const rep = once(() => new TextEncoder().encode(repeatedLines(11, 300)));
const deepText = once(() => textLines(12, 3000));
const text64kGz = once(() => gzip(text64k()));
const enc = (s: string) => new TextEncoder().encode(s);

function hexOf(b: Uint8Array, perLine: number): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += perLine) {
    lines.push(
      [...b.subarray(i, i + perLine)].map((x) => x.toString(16).padStart(2, "0")).join(""),
    );
  }
  return lines.join("\n") + "\n";
}

function base64Of(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s).replace(/.{76}/g, "$&\n") + "\n";
}

function digest(algo: string, data: string | Uint8Array): string {
  return createHash(algo).update(data).digest("hex");
}

const archive = once(() =>
  tar([
    { name: "pkg/", mtime: DEFAULT_MTIME + 9 * DAY },
    { name: "pkg/README", content: enc("read me\n"), mtime: DEFAULT_MTIME + DAY },
    { name: "pkg/bin/", mode: 0o750, mtime: DEFAULT_MTIME + 2 * DAY },
    {
      name: "pkg/bin/tool",
      content: enc("#!/bin/sh\necho tool\n"),
      mode: 0o755,
      mtime: DEFAULT_MTIME + 3 * DAY,
    },
    { name: "pkg/data.bin", content: binary(13, 5000), mtime: DEFAULT_MTIME + 4 * DAY },
    { name: "pkg/link", link: "README", mtime: DEFAULT_MTIME + 5 * DAY },
  ])
);

/** A tree of plain files and directories with fixed contents, modes and mtimes. */
function plainTree(): FileSpec[] {
  return [
    { path: "a.txt", content: small, mtime: DEFAULT_MTIME },
    { path: "b.txt", content: "hello\nworld\n", mtime: DEFAULT_MTIME + DAY },
    { path: "empty", content: "", mtime: DEFAULT_MTIME + 2 * DAY },
    { path: "data.bin", content: bin1k, mtime: DEFAULT_MTIME + 3 * DAY },
    { path: "script.sh", content: "#!/bin/sh\necho hi\n", mode: 0o755 },
    { path: ".hidden", content: "secret\n" },
    { path: "sub", type: "dir", mtime: DEFAULT_MTIME + 4 * DAY },
    { path: "sub/c.txt", content: "c\n", mode: 0o600, mtime: DEFAULT_MTIME + 5 * DAY },
    { path: "sub/deep", type: "dir", mode: 0o750 },
    { path: "sub/deep/d.txt", content: deepText },
  ];
}

/** {@linkcode plainTree} plus symlinks (their own mtimes fixed too). */
function tree(): FileSpec[] {
  return [
    ...plainTree(),
    { path: "link", type: "symlink", target: "a.txt" },
    { path: "sub/dangling", type: "symlink", target: "../nowhere" },
  ];
}

const file = (path: string, content: FileSpec["content"], extra: Partial<FileSpec> = {}) => ({
  path,
  content,
  ...extra,
});

/** What a busybox case may set beyond its steps. */
interface Opts {
  files?: FileSpec[];
  stdin?: Step["stdin"];
  env?: Record<string, string>;
  compare?: Comparison;
  compareStderr?: boolean;
  snapshot?: boolean | "with-mtime";
  quick?: boolean;
  timeout?: number;
}

type Def = { name: string; steps: Step[] } & Opts;

/** One applet invocation. */
function bb(name: string, args: string[], opts: Opts = {}): Def {
  const { stdin, ...rest } = opts;
  return { name, steps: [{ args, stdin }], ...rest };
}

/** Several applet invocations in one directory, in order. */
function seq(name: string, steps: string[][], opts: Opts = {}): Def {
  return { name, steps: steps.map((args) => ({ args })), ...opts };
}

const SLOW = 300;
const sortLines: Comparison = { mode: "normalised", normalisers: ["sort-lines"] };

/** Every busybox case definition, in corpus order (names without the `busybox/` prefix). */
function definitions(): Def[] {
  return [
    // --- file tools -------------------------------------------------------------------------
    bb("ls-1", ["ls", "-1"], { files: plainTree(), quick: true }),
    bb("ls-l", ["ls", "-l"], { files: plainTree(), quick: true }),
    seq("ls-l-touch-d", [["touch", "-d", "2019-06-07 08:09:10", "x", "y"], ["ls", "-l"]], {
      files: [file("x", "x\n"), file("y", "yy\n"), file("z", "zzz\n")],
      quick: true,
    }),
    bb("ls-lR", ["ls", "-lR"], { files: tree() }),
    bb("ls-lS", ["ls", "-lS"], { files: plainTree() }),
    bb("ls-lt", ["ls", "-lt"], { files: plainTree() }),
    bb("ls-ln-full-time", ["ls", "-ln", "--full-time"], { files: tree() }),
    bb("ls-A-p-F", ["ls", "-A", "-p", "-F"], { files: tree() }),
    bb("ls-missing", ["ls", "nope"], { compareStderr: true }),
    bb("cp-file", ["cp", "a.txt", "copy.txt"], { files: plainTree(), snapshot: true, quick: true }),
    bb("cp-r", ["cp", "-r", "sub", "sub2"], { files: plainTree(), snapshot: true }),
    bb("cp-p", ["cp", "-p", "a.txt", "kept.txt"], {
      files: plainTree(),
      snapshot: "with-mtime",
    }),
    bb("cp-8m", ["cp", "big.bin", "copy.bin"], {
      files: [file("big.bin", bin8m)],
      snapshot: true,
      timeout: SLOW,
    }),
    bb("mv-rename", ["mv", "a.txt", "renamed.txt"], {
      files: plainTree(),
      snapshot: "with-mtime",
    }),
    bb("mv-into-dir", ["mv", "a.txt", "b.txt", "sub"], { files: plainTree(), snapshot: true }),
    bb("rm-files", ["rm", "a.txt", "b.txt"], { files: plainTree(), snapshot: true }),
    bb("rm-r", ["rm", "-r", "sub"], { files: tree(), snapshot: true }),
    bb("rm-missing", ["rm", "nope"], { compareStderr: true }),
    bb("rm-f-missing", ["rm", "-f", "nope"], { compareStderr: true }),
    bb("ln-s", ["ln", "-s", "a.txt", "link2"], { files: plainTree(), snapshot: true }),
    seq("ln-hard", [["ln", "a.txt", "hard"], ["stat", "-c", "%n %h %s", "a.txt", "hard"]], {
      files: plainTree(),
    }),
    bb("mkdir-p", ["mkdir", "-p", "x/y/z", "sub/deep/e"], { files: plainTree(), snapshot: true }),
    bb("mkdir-m", ["mkdir", "-m", "700", "private"], { snapshot: true }),
    bb("mkdir-exists", ["mkdir", "sub"], { files: plainTree(), compareStderr: true }),
    bb("touch-new", ["touch", "new1", "new2"], { snapshot: true }),
    seq("touch-d-stat", [["touch", "-d", "2020-02-29 23:59:58", "a.txt"], [
      "stat",
      "-c",
      "%n %y %Y",
      "a.txt",
    ]], { files: plainTree(), quick: true }),
    bb("stat-format", [
      "stat",
      "-c",
      "%n|%s|%a|%A|%F|%h|%U|%G|%u|%g",
      "a.txt",
      "empty",
      "sub",
      "link",
    ], {
      files: tree(),
      quick: true,
    }),
    bb("stat-L", ["stat", "-L", "-c", "%n %s %F %Y", "link"], { files: tree() }),
    bb("find-all", ["find", "."], { files: tree(), compare: sortLines }),
    bb("find-name-type", ["find", ".", "-name", "*.txt", "-type", "f"], {
      files: tree(),
      compare: sortLines,
    }),
    bb("find-maxdepth", ["find", ".", "-maxdepth", "1", "-type", "d"], {
      files: tree(),
      compare: sortLines,
    }),
    bb("find-size", ["find", ".", "-size", "+1k"], { files: tree(), compare: sortLines }),
    bb("du-a-b", ["du", "-a", "-b"], { files: plainTree(), compare: sortLines }),
    bb("du-s-k", ["du", "-s", "-k", "sub", "a.txt"], { files: plainTree() }),
    bb("readlink-f", ["readlink", "-f", "link"], { files: tree() }),
    bb("realpath", ["realpath", "sub/deep", "sub/../a.txt"], { files: tree() }),
    bb("pwd", ["pwd"], { quick: true }),
    bb("truncate", ["truncate", "-s", "3000", "empty"], { files: plainTree(), snapshot: true }),
    bb("dd", ["dd", "if=big.bin", "of=part.bin", "bs=4096", "skip=3", "count=5", "status=none"], {
      files: [file("big.bin", bin1m)],
      snapshot: true,
    }),
    bb("cmp-differ", ["cmp", "a.txt", "b.txt"], { files: plainTree() }),
    bb("diff-u", ["diff", "-u", "a.txt", "sub/deep/d.txt"], { files: plainTree() }),

    // --- text tools -------------------------------------------------------------------------
    bb("cat-small", ["cat", "a.txt"], { files: plainTree(), quick: true }),
    bb("cat-n", ["cat", "-n", "a.txt", "b.txt"], { files: plainTree() }),
    bb("cat-stdin", ["cat"], { stdin: text64k, quick: true }),
    bb("cat-dash", ["cat", "b.txt", "-", "b.txt"], { files: plainTree(), stdin: "middle\n" }),
    bb("cat-8m", ["cat", "big.bin"], { files: [file("big.bin", bin8m)], timeout: SLOW }),
    bb("cat-missing", ["cat", "nope"], { compareStderr: true, quick: true }),
    bb("head-n", ["head", "-n", "5", "t"], { files: [file("t", text64k)] }),
    bb("head-c", ["head", "-c", "100", "d"], { files: [file("d", bin1k)] }),
    bb("tail-n", ["tail", "-n", "7", "t"], { files: [file("t", text1m)] }),
    bb("tail-plus", ["tail", "-n", "+200", "t"], { files: [file("t", text64k)] }),
    bb("tail-c", ["tail", "-c", "333", "d"], { files: [file("d", bin1k)] }),
    bb("sort", ["sort", "t"], { files: [file("t", text64k)] }),
    bb("sort-n", ["sort", "-n", "n"], { files: [file("n", nums)] }),
    bb("sort-rnu", ["sort", "-r", "-n", "-u", "n"], { files: [file("n", nums)] }),
    bb("sort-t-k", ["sort", "-t", ",", "-k", "4,4n", "-k", "1,1n", "t.csv"], {
      files: [file("t.csv", csv)],
    }),
    bb("sort-1m", ["sort", "t"], { files: [file("t", text1m)], timeout: SLOW }),
    bb("uniq", ["uniq", "r"], { files: [file("r", rep)] }),
    bb("uniq-c", ["uniq", "-c", "r"], { files: [file("r", rep)] }),
    bb("uniq-d", ["uniq", "-d", "r"], { files: [file("r", rep)] }),
    bb("wc", ["wc", "a.txt", "b.txt", "data.bin"], { files: plainTree(), quick: true }),
    bb("wc-4m", ["wc", "-l", "-w", "-c", "t"], { files: [file("t", text4m)], timeout: SLOW }),
    bb("cut-f", ["cut", "-d", ",", "-f", "2,4", "t.csv"], { files: [file("t.csv", csv)] }),
    bb("cut-c", ["cut", "-c", "1-5,10-", "t"], { files: [file("t", text64k)] }),
    bb("tr-upper", ["tr", "a-z", "A-Z"], { stdin: small, quick: true }),
    bb("tr-s-d", ["tr", "-s", " ", "-d", "aeiou"], { stdin: text64k }),
    bb("sed-s", ["sed", "s/the/THE/g", "t"], { files: [file("t", text64k)] }),
    bb("sed-n", ["sed", "-n", "-e", "2,5p", "-e", "$=", "t"], { files: [file("t", text64k)] }),
    bb("sed-E", ["sed", "-E", "/^(alpha|bravo)/d; s/([a-z]+) ([a-z]+)/\\2 \\1/", "t"], {
      files: [file("t", text64k)],
    }),
    bb("sed-i", ["sed", "-i", "s/hello/HELLO/", "b.txt"], { files: plainTree(), snapshot: true }),
    bb("awk-sum", [
      "awk",
      "-F,",
      'NR>1 { s += $4; n++ } END { printf "%d %d %.3f\\n", n, s, s / n }',
      "t.csv",
    ], { files: [file("t.csv", csv)], quick: true }),
    bb("awk-count", [
      "awk",
      "{ for (i = 1; i <= NF; i++) c[$i]++ } END { for (w in c) print c[w], w }",
      "t",
    ], { files: [file("t", text64k)] }),
    bb("awk-strings", [
      "awk",
      'BEGIN { print length("hello"), substr("abcdef", 2, 3), index("foobar", "bar"), ' +
      'toupper("x"), 7 % 3, int(-3.7); s = "a-b-c"; n = split(s, p, "-"); print n, p[3]; ' +
      'gsub(/o/, "0", t = "foo boo"); printf "%5.2f|%-4s|%x\\n", 3.14159, "ab", 255 }',
    ]),
    bb("awk-filter", ["awk", "-F,", "$4 > 900 { print $2, $3 }", "t.csv"], {
      files: [file("t.csv", csv)],
    }),
    bb("grep-E", ["grep", "-E", "^(alpha|zulu)|[0-9]{4}", "t"], { files: [file("t", text64k)] }),
    bb("grep-c-v-i", ["grep", "-c", "-v", "-i", "THE", "t"], { files: [file("t", text64k)] }),
    bb("grep-n-w", ["grep", "-n", "-w", "Paris", "t"], { files: [file("t", text64k)] }),
    bb("grep-nomatch", ["grep", "zzzz", "a.txt"], { files: plainTree(), quick: true }),
    bb("od-x1", ["od", "-A", "x", "-t", "x1", "-v", "d"], { files: [file("d", bin1k)] }),
    bb("od-c", ["od", "-c", "d"], { files: [file("d", bin7)] }),
    bb("xxd", ["xxd", "d"], { files: [file("d", bin1k)] }),
    bb("xxd-p", ["xxd", "-p", "d"], { files: [file("d", bin1k)] }),
    bb("xxd-r-p", ["xxd", "-r", "-p"], { stdin: () => enc(hexOf(bin1k(), 30)) }),
    bb("base64", ["base64", "d"], { files: [file("d", bin1k)], quick: true }),
    bb("base64-d-1m", ["base64", "-d"], { stdin: () => enc(base64Of(bin1m())), timeout: SLOW }),
    bb("md5sum", ["md5sum", "a.txt", "data.bin"], { files: plainTree(), quick: true }),
    bb("sha1sum", ["sha1sum", "t"], { files: [file("t", text1m)] }),
    bb("sha256sum-8m", ["sha256sum", "big.bin"], {
      files: [file("big.bin", bin8m)],
      timeout: SLOW,
    }),
    bb("sha512sum", ["sha512sum", "d", "t"], {
      files: [file("d", bin1m), file("t", text64k)],
      timeout: SLOW,
    }),
    bb("sha256sum-c", ["sha256sum", "-c", "sums"], {
      files: [
        ...plainTree(),
        file(
          "sums",
          () =>
            enc(
              `${digest("sha256", small())}  a.txt\n${digest("sha256", "hello\nworld\n")}  b.txt\n`,
            ),
        ),
      ],
    }),
    bb("md5sum-c-bad", ["md5sum", "-c", "sums"], {
      files: [
        ...plainTree(),
        file(
          "sums",
          `${digest("md5", "not it")}  a.txt\n${digest("md5", "hello\nworld\n")}  b.txt\n`,
        ),
      ],
    }),
    bb("tac", ["tac", "a.txt"], { files: plainTree() }),
    bb("rev", ["rev", "a.txt"], { files: plainTree() }),
    bb("nl", ["nl", "a.txt"], { files: plainTree() }),
    bb("fold", ["fold", "-w", "17", "a.txt"], { files: plainTree() }),
    bb("paste", ["paste", "-d", ":", "a.txt", "b.txt"], { files: plainTree() }),
    bb("hexdump-C", ["hexdump", "-C", "d"], { files: [file("d", bin1k)] }),
    bb("strings", ["strings", "-n", "3", "d"], { files: [file("d", bin1m)] }),
    bb("crc32", ["crc32", "d"], { files: [file("d", bin1m)] }),

    // --- archives ---------------------------------------------------------------------------
    bb("gzip-c", ["gzip", "-c", "t"], { files: [file("t", text64k)], quick: true }),
    bb("gzip-k", ["gzip", "-k", "t"], { files: [file("t", text1m)], snapshot: true }),
    bb("gzip-stdin", ["gzip", "-c"], { stdin: text64k }),
    bb("gunzip-c", ["gunzip", "-c", "t.gz"], { files: [file("t.gz", text64kGz)] }),
    bb("gunzip-file", ["gunzip", "t.gz"], { files: [file("t.gz", text64kGz)], snapshot: true }),
    bb("gzip-t-corrupt", ["gzip", "-t", "bad.gz"], {
      files: [file("bad.gz", () => text64kGz().slice(0, 2000))],
    }),
    bb("bzip2-c", ["bzip2", "-c", "t"], { files: [file("t", text64k)] }),
    seq("bzip2-roundtrip", [["bzip2", "-k", "t"], ["bzip2", "-d", "-c", "t.bz2"]], {
      files: [file("t", text1m)],
      snapshot: true,
      timeout: SLOW,
    }),
    bb("bunzip2-corrupt", ["bunzip2", "-c", "bad.bz2"], {
      files: [file("bad.bz2", "BZh91AY&SY not really\n")],
    }),
    bb("tar-c", ["tar", "cf", "-", "sub", "a.txt"], { files: tree() }),
    bb("tar-tv", ["tar", "tvf", "p.tar"], { files: [file("p.tar", archive)], quick: true }),
    bb("tar-x", ["tar", "xf", "p.tar"], {
      files: [file("p.tar", archive)],
      snapshot: "with-mtime",
    }),
    bb("tar-xO", ["tar", "xOf", "p.tar", "pkg/README", "pkg/data.bin"], {
      files: [file("p.tar", archive)],
    }),
    seq("tar-c-t", [["tar", "cf", "out.tar", "a.txt", "sub"], ["tar", "tf", "out.tar"]], {
      files: plainTree(),
      snapshot: true,
    }),

    // --- math and misc ----------------------------------------------------------------------
    bb("expr-arith", ["expr", "3", "+", "4", "*", "5"], { quick: true }),
    bb("expr-length", ["expr", "length", "hello world"]),
    bb("expr-match", ["expr", "match", "abc123", "[a-z]*"]),
    bb("expr-zero", ["expr", "0"]),
    bb("expr-div0", ["expr", "1", "/", "0"], { compareStderr: true }),
    bb("seq", ["seq", "10"], { quick: true }),
    bb("seq-w", ["seq", "-w", "1", "3", "100"]),
    bb("seq-float", ["seq", "1", "0.25", "3"]),
    bb("seq-200k", ["seq", "200000"], { timeout: SLOW }),
    bb("printf-formats", [
      "printf",
      "%05d|%-6s|%x|%o|%e|%.3f|%c|%%\\n",
      "42",
      "ab",
      "255",
      "8",
      "12345.678",
      "3.14159",
      "Z",
    ], { quick: true }),
    bb("printf-escapes", ["printf", "a\\tb\\\\n\\101\\x42\\n%s\\n", "end"]),
    bb("echo-e", ["echo", "-e", "a\\tb\\nc"]),
    bb("bc-pi", ["bc", "-l"], { stdin: "scale=50; 4*a(1)\n" }),
    bb("bc-pow", ["bc"], { stdin: "2^1000\n(2^64-1)%1000007\n" }),
    bb("dc-pow", ["dc", "-e", "2 100 ^ p"], { quick: true }),
    bb("dc-ops", ["dc", "-e", "10 3 / p 10 3 % p 3 k 10 3 / p 2 v p"]),
    bb("factor", ["factor", "1234567890", "600851475143", "97", "1", "4294967297"]),
    bb("basename", ["basename", "/usr/lib/libc.so.6", ".6"], { quick: true }),
    bb("dirname", ["dirname", "/usr/lib/libc.so.6"]),
    // qemu-user hands the guest its environment in reverse order (a kernel keeps the order given),
    // so environment listings are compared as sorted lines.
    bb("env", ["env"], { quick: true, compare: sortLines }),
    bb("env-i", ["env", "-i", "FOO=bar", "BAZ=qux"], { compare: sortLines }),
    bb("env-u", ["env", "-u", "HOME", "EXTRA=1"], { compare: sortLines }),
    bb("uname", ["uname", "-s", "-m"], { quick: true }),
    bb("id", ["id"], { quick: true }),
    bb("id-un", ["id", "-u", "-n"]),
    bb("true", ["true"], { quick: true }),
    bb("false", ["false"], { quick: true }),
    bb("test-file", ["test", "-f", "a.txt", "-a", "-d", "sub"], { files: plainTree() }),
    bb("date-d", ["date", "-d", "2021-03-04 05:06:07", "+%Y-%m-%d %H:%M:%S %j %a %s"], {
      quick: true,
    }),
    bb("date-epoch", ["date", "-u", "-d", "@1234567890"]),
    bb("date-R", ["date", "-R", "-d", "@0"]),
    bb("date-tz", ["date", "-d", "2021-07-04 05:06:07", "+%F %T %Z %z"], {
      env: { TZ: "Europe/Paris" },
    }),
    bb("date-now", ["date"], {
      compare: {
        mode: "regex",
        pattern: "^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d UTC \\d{4}\\n$",
      },
    }),
    bb("date-now-iso", ["date", "+%Y-%m-%d %H:%M:%S"], {
      compare: { mode: "normalised", normalisers: ["times"] },
    }),
    bb("cal", ["cal", "2", "2024"]),
    bb("mktemp", ["mktemp", "-p", "."], {
      compare: { mode: "normalised", normalisers: ["temp-names"] },
    }),
    bb("sleep", ["sleep", "0.2"]),
  ];
}

/**
 * The busybox cases, for the busybox binary at `busybox` (normally `<repo>/` + BUSYBOX_PATH).
 * Each case's name is `busybox/` and the short name.
 *
 * @example
 * ```ts
 * const cases = busyboxCases("/work/main/.tools/debs/busybox-static/bin/busybox");
 * console.log(cases.length, cases.filter((c) => c.quick).length);
 * ```
 */
export function busyboxCases(busybox: string): Case[] {
  return definitions().map((d) => ({
    name: `busybox/${d.name}`,
    group: "busybox",
    program: busybox,
    steps: d.steps,
    env: d.env,
    files: d.files,
    timeout: d.timeout ?? 60,
    compare: d.compare,
    compareStderr: d.compareStderr,
    snapshot: d.snapshot,
    quick: d.quick ?? false,
  }));
}
