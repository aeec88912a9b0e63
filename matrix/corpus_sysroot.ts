/**
 * Real dynamically linked Debian programs, run from the sysroot `elfuse sysroot create` builds in
 * .tools/sysroot (tools/setup.sh makes it; never committed). Each runner gets the sysroot
 * (elfuse --sysroot, qemu-aarch64 -L) and the program's host path. Cases that start other
 * programs are marked `needsExec`: qemu-user follows an execve only through binfmt_misc.
 *
 * @module
 */

import type { Case, Expected, FileSpec, Step } from "./types.ts";

/** Where tools/setup.sh builds the matrix's sysroot, relative to the repository. */
export const SYSROOT_PATH = ".tools/sysroot";

/** The packages it holds (tools/setup.sh passes these to `elfuse sysroot create`). */
export const SYSROOT_PACKAGES = [
  "bash",
  "coreutils",
  "python3",
  "sqlite3",
  "lua5.4",
  "gawk",
  "sed",
  "grep",
  "jq",
  "file",
  "tzdata",
  "xz-utils",
  "zstd",
  "restic",
  "curl",
  "nodejs",
  "ca-certificates",
];

interface Def {
  name: string;
  /** Program path inside the sysroot. */
  program: string;
  steps: Step[];
  files?: FileSpec[];
  env?: Record<string, string>;
  quick?: boolean;
  timeout?: number;
  /** Starts other programs of the sysroot (fork + execve). */
  needsExec?: boolean;
  /** Its output as Linux gives it, for judging it where the reference cannot run it. */
  expect?: Expected;
}

const args = (...a: string[]): Step[] => [{ args: a }];

const bashScript = `#!/bin/bash
set -u
declare -a fruits=(apple banana "cherry pie")
declare -A colour=([apple]=red [banana]=yellow)
fruits+=(date)
greet() { local who=$1; printf 'hello %s (%d)\\n' "$who" "\${#who}"; }
for f in "\${fruits[@]}"; do greet "$f"; done
if [[ \${colour[apple]} == r* && -n \${colour[banana]} ]]; then echo "match"; fi
n=0; for ((i = 1; i <= 100; i++)); do ((n += i * i)); done; echo "sum=$n"
while IFS=, read -r key value; do echo "[$key]=[$value]"; done < data.csv
s="Hello, World"; echo "\${s,,} \${s^^} \${s/World/There} \${#s} \${s:7:5}"
printf -v padded '%05d' 42; echo "$padded"
case "banana" in b*) echo "b-word";; *) echo other;; esac
echo "$(( (7 ** 3) % 10 )) $(( 0x1f )) $(( 8#17 ))"
`;

const pyScript = `import hashlib, json, os, re
tree = {}
for root, dirs, files in sorted(os.walk("tree")):
    dirs.sort()
    tree[root] = sorted(files)
print(json.dumps(tree, sort_keys=True))
words = re.findall(r"[a-z]+", open("tree/a/words.txt").read())
print(len(words), sorted(set(words))[:5])
print(hashlib.sha256(b"elfuse" * 1000).hexdigest())
print(json.loads('{"x": [1, 2.5, null, true]}'))
print(sum(i * i for i in range(100000)))
`;

const bashProcesses = `set -e
seq 1 5 | sort -r | head -3
n=$(seq 7 | wc -l); echo "lines=$n"
paste <(seq 3) <(seq 4 6)
( cd / && pwd )
echo "$(tr a-z A-Z <<< hello) $(printf '%s' abc | wc -c)"
sleep 0.1 & wait $!; echo "bg=$?"
false || echo "status $?"
`;

const pySubprocess = `import subprocess
r = subprocess.run(["/usr/bin/seq", "3"], capture_output=True, text=True)
print(r.returncode, r.stdout.split())
p = subprocess.Popen(["/usr/bin/sort", "-r"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
out, _ = p.communicate("b\\na\\nc\\n")
print(p.returncode, out.split())
print(subprocess.call(["/usr/bin/false"]))
print(subprocess.run("echo hi | tr a-z A-Z", shell=True, executable="/usr/bin/bash",
                     capture_output=True, text=True).stdout.strip())
`;

const pyThreads = `import concurrent.futures, queue, threading, time
results, lock, q = [], threading.Lock(), queue.Queue()
def worker(n):
    s = sum(i * i for i in range(n))
    with lock:
        results.append(s)
    q.put(n)
ts = [threading.Thread(target=worker, args=(1000 * (i + 1),)) for i in range(6)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(results)[:2], len(results), sorted(q.get() for _ in range(6)))
with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
    print(list(ex.map(lambda x: x * x, range(10))))
ev = threading.Event()
threading.Thread(target=lambda: (time.sleep(0.05), ev.set())).start()
print("event", ev.wait(5))
cond, box, got = threading.Condition(), [], []
def producer():
    for i in range(5):
        with cond:
            box.append(i)
            cond.notify()
p = threading.Thread(target=producer); p.start()
while len(got) < 5:
    with cond:
        while not box:
            cond.wait(1)
        got.extend(box); box.clear()
p.join()
print("cond", got, "threads", threading.active_count())
`;

const pyPool = `import multiprocessing as mp
def square(x):
    return x * x
if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print(pool.map(square, range(12)))
        print(sorted(pool.imap_unordered(square, range(5))))
`;

/** About 300 KiB of text that compresses well, the same every run. */
const compressible = Array.from(
  { length: 6000 },
  (_, i) => `${i} ${["alpha", "beta", "gamma", "delta"][i % 4]} ${(i * 2654435761) % 100000}`,
).join("\n").repeat(4) + "\n";

const sqliteScript = `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000)
INSERT INTO t (name, v) SELECT 'row' || i, i * 1.5 FROM c;
CREATE INDEX t_v ON t (v);
SELECT count(*), sum(v), min(name), max(id) FROM t;
SELECT name FROM t WHERE v BETWEEN 300 AND 306 ORDER BY v DESC;
SELECT id % 7 AS k, count(*) FROM t GROUP BY k ORDER BY k;
`;

const luaScript = `local t = {}
for i = 1, 20 do t[#t + 1] = i * i end
print(table.concat(t, ","))
local s = ("hello world"):gsub("o", "0"):upper()
print(s, string.format("%5.2f", math.pi), math.maxinteger)
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(24))
`;

/** socket, selectors and asyncio over 127.0.0.1 in one process (no fixed ports). */
const pySockets = `import socket, selectors, asyncio
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
c = socket.create_connection(("127.0.0.1", srv.getsockname()[1]), timeout=10)
s, _ = srv.accept()
c.sendall(b"hello"); print("socket", s.recv(5))
a, b = socket.socketpair(); a.send(b"pair"); print("socketpair", b.recv(4))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"udp", u.getsockname()); print("udp", u.recv(3))
sel = selectors.DefaultSelector(); print("selector", type(sel).__name__)
s.setblocking(False); sel.register(s, selectors.EVENT_READ, "srv")
c.sendall(b"via selector")
for key, ev in sel.select(timeout=10): print("ready", key.data, key.fileobj.recv(100))
sel.close()
async def handle(r, w):
    w.write((await r.readline()).upper()); await w.drain(); w.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    r, w = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    w.write(b"asyncio line\\n"); await w.drain()
    print("asyncio", await r.readline()); w.close(); server.close(); await server.wait_closed()
asyncio.run(main())
print("lo", socket.if_nametoindex("lo") > 0, "lo" in [n for _, n in socket.if_nameindex()])
`;

/** curl against python's http.server, both started by the script on 127.0.0.1 (bounded waits). */
const curlScript = `set -u
port=$(( 20000 + RANDOM % 20000 ))
python3 -m http.server --bind 127.0.0.1 $port >/dev/null 2>&1 &
srv=$!
for i in $(seq 1 150); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.2; done
curl -s http://127.0.0.1:$port/page.txt
curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:$port/missing
kill $srv; wait $srv 2>/dev/null
echo done
`;

/** An http server and client in one node process. */
const nodeHttp = `const http = require("http");
const srv = http.createServer((req, res) => res.end("node says " + req.url));
srv.listen(0, "127.0.0.1", () => {
  http.get({ host: "127.0.0.1", port: srv.address().port, path: "/hi" }, (res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => { console.log(res.statusCode, body); srv.close(); });
  });
});`;

const words = "the quick brown fox jumps over the lazy dog\n".repeat(50) + "alpha beta gamma\n";
const numbers = Array.from({ length: 300 }, (_, i) => `${(i * 7919) % 1000} item${i}`).join("\n") +
  "\n";

function definitions(): Def[] {
  return [
    {
      name: "bash-script",
      program: "/usr/bin/bash",
      steps: args("script.sh"),
      files: [{ path: "script.sh", content: bashScript }, {
        path: "data.csv",
        content: "a,1\nb,two\nc,3 3\n",
      }],
      quick: true,
    },
    {
      name: "bash-processes",
      program: "/usr/bin/bash",
      steps: args("p.sh"),
      files: [{ path: "p.sh", content: bashProcesses }],
      needsExec: true,
      expect: {
        exit: 0,
        stdout: "5\n4\n3\nlines=7\n1\t4\n2\t5\n3\t6\n/\nHELLO 3\nbg=0\nstatus 1\n",
      },
      quick: true,
    },
    {
      // What sysroot create gives beyond the named packages (runtime/sysroot/debian_base.ts):
      // dash as /bin/sh, users and groups, alternatives links, the CA bundle.
      name: "base-system",
      program: "/usr/bin/dash",
      steps: args("base.sh"),
      files: [{
        path: "base.sh",
        content: `readlink /bin/sh
readlink /usr/bin/awk /etc/alternatives/awk /usr/bin/which /etc/alternatives/which
awk 'BEGIN { print "awk", 6 * 7 }'
which sed
grep -c '^root:x*\\*\\?:0:0:' /etc/passwd
grep -c '^daemon:' /etc/group
grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt | sed 's/^[1-9][0-9][0-9]*$/many/'
`,
      }],
      needsExec: true,
      expect: {
        exit: 0,
        stdout: "dash\n/etc/alternatives/awk\n/usr/bin/gawk\n/etc/alternatives/which\n" +
          "/usr/bin/which.debianutils\nawk 42\n/usr/bin/sed\n1\n1\nmany\n",
      },
      quick: true,
    },
    {
      // A shell whose in-process child ran one program, then runs or execs another at the same
      // load address: the old program's translated code must be gone (Unicorn drops a range's
      // translations by the RAM block of its start only; dash then faulted in ls).
      name: "dash-exec-after-child",
      program: "/usr/bin/dash",
      steps: args("-c", "cat /dev/null; ls /etc/passwd; /usr/bin/echo x; exec ls /etc/group"),
      needsExec: true,
      expect: { exit: 0, stdout: "/etc/passwd\nx\n/etc/group\n" },
      quick: true,
    },
    {
      name: "bash-builtins",
      program: "/usr/bin/bash",
      steps: args(
        "-c",
        'echo "$BASH_VERSINFO" ; type -t cd; x=5; echo $((x<<2)); [[ abc =~ b(c) ]] && echo "${BASH_REMATCH[1]}"',
      ),
    },
    {
      name: "ls-long",
      program: "/usr/bin/ls",
      steps: args("-lan", "--time-style=+%Y", "d"),
      files: lsTree(),
    },
    {
      name: "ls-recursive",
      program: "/usr/bin/ls",
      steps: args("-R", "d"),
      files: lsTree(),
      quick: true,
    },
    {
      name: "sort-numeric",
      program: "/usr/bin/sort",
      steps: args("-n", "-k1,1", "-s", "n.txt"),
      files: [{ path: "n.txt", content: numbers }],
      quick: true,
    },
    {
      name: "sort-unique",
      program: "/usr/bin/sort",
      steps: args("-u", "w.txt"),
      files: [{ path: "w.txt", content: words }],
    },
    {
      name: "date-tz",
      program: "/usr/bin/date",
      steps: args("-d", "@1700000000", "+%F %T %Z %z"),
      env: { TZ: "America/New_York" },
    },
    {
      name: "date-utc",
      program: "/usr/bin/date",
      steps: args("-u", "-d", "2024-02-29 12:34:56", "+%A %j %s"),
    },
    {
      name: "sha256sum",
      program: "/usr/bin/sha256sum",
      steps: args("w.txt", "n.txt"),
      files: [{ path: "w.txt", content: words }, { path: "n.txt", content: numbers }],
      quick: true,
    },
    {
      name: "du",
      program: "/usr/bin/du",
      steps: args("-a", "--apparent-size", "-b", "d"),
      files: lsTree(),
    },
    {
      name: "stat",
      program: "/usr/bin/stat",
      steps: args("-c", "%n %s %F %a", "d/a.txt", "d/sub", "d/link"),
      files: lsTree(),
    },
    { name: "seq", program: "/usr/bin/seq", steps: args("-s", ",", "-w", "1", "3", "40") },
    {
      name: "numfmt",
      program: "/usr/bin/numfmt",
      steps: args("--to=iec-i", "--suffix=B", "1023", "1048576", "5000000000"),
    },
    {
      name: "python-print",
      program: "/usr/bin/python3.11",
      steps: args("-c", "print(1)"),
      quick: true,
    },
    {
      name: "python-script",
      program: "/usr/bin/python3.11",
      steps: args("s.py"),
      files: [
        { path: "s.py", content: pyScript },
        { path: "tree/a/words.txt", content: words },
        { path: "tree/b/c/empty", content: "" },
        { path: "tree/top.txt", content: "top\n" },
      ],
    },
    {
      name: "python-threading",
      program: "/usr/bin/python3.11",
      steps: args("t.py"),
      files: [{ path: "t.py", content: pyThreads }],
    },
    {
      name: "python-multiprocessing",
      program: "/usr/bin/python3.11",
      steps: args("mp.py"),
      files: [{ path: "mp.py", content: pyPool }],
    },
    {
      name: "xz-threads",
      program: "/usr/bin/xz",
      steps: args("-T2", "--block-size=65536", "-c", "in.txt"),
      files: [{ path: "in.txt", content: compressible }],
    },
    {
      name: "zstd-threads",
      program: "/usr/bin/zstd",
      steps: args("-T2", "-q", "-c", "in.txt"),
      files: [{ path: "in.txt", content: compressible }],
    },
    {
      name: "restic-version",
      program: "/usr/bin/restic",
      steps: args("version"),
    },
    {
      // A Go program's goroutines at work: chunking, hashing, encryption and file I/O.
      name: "restic-backup-restore",
      program: "/usr/bin/restic",
      steps: [
        ["init"],
        ["backup", "data"],
        ["restore", "latest", "--target", "out"],
        ["ls", "latest"],
        ["check"],
        ["dump", "latest", "/data/f3.txt"],
      ].map((a) => ({ args: ["-r", "repo", "-q", "--no-cache", ...a] })),
      env: { RESTIC_PASSWORD: "elfuse" },
      files: Array.from({ length: 12 }, (_, i) => ({
        path: `data/f${i}.txt`,
        content: `${i}\n` + words.repeat(1 + i * 3),
      })),
      timeout: 120,
    },
    {
      name: "python-subprocess",
      program: "/usr/bin/python3.11",
      steps: args("sp.py"),
      files: [{ path: "sp.py", content: pySubprocess }],
      needsExec: true,
      expect: { exit: 0, stdout: "0 ['1', '2', '3']\n0 ['c', 'b', 'a']\n1\nHI\n" },
    },
    {
      name: "python-sockets",
      program: "/usr/bin/python3.11",
      steps: args("net.py"),
      files: [{ path: "net.py", content: pySockets }],
      timeout: 120,
    },
    {
      name: "curl-http-server",
      program: "/usr/bin/bash",
      steps: args("curl.sh"),
      files: [{ path: "curl.sh", content: curlScript }, { path: "page.txt", content: "a page\n" }],
      needsExec: true,
      timeout: 180,
      expect: { exit: 0, stdout: "a page\n404\ndone\n" },
    },
    {
      name: "node-http",
      program: "/usr/bin/node",
      steps: args("-e", nodeHttp),
      timeout: 180,
      expect: { exit: 0, stdout: "200 node says /hi\n" },
    },
    {
      name: "sqlite-10k",
      program: "/usr/bin/sqlite3",
      steps: [{ args: [":memory:"], stdin: sqliteScript }],
    },
    {
      name: "lua",
      program: "/usr/bin/lua5.4",
      steps: args("s.lua"),
      files: [{ path: "s.lua", content: luaScript }],
    },
    {
      name: "gawk",
      program: "/usr/bin/gawk",
      steps: args(
        '{ n[$1]++ } END { PROCINFO["sorted_in"] = "@ind_str_asc"; for (w in n) printf "%s %d\\n", w, n[w] }',
        "w.txt",
      ),
      files: [{ path: "w.txt", content: words }],
    },
    {
      name: "sed",
      program: "/usr/bin/sed",
      steps: args("-E", "s/(quick|lazy) ([a-z]+)/\\2-\\1/g;3q", "w.txt"),
      files: [{ path: "w.txt", content: words }],
      quick: true,
    },
    {
      name: "grep",
      program: "/usr/bin/grep",
      steps: args("-c", "-E", "^[0-9]{3} item1", "n.txt"),
      files: [{ path: "n.txt", content: numbers }],
    },
    {
      name: "jq",
      program: "/usr/bin/jq",
      steps: args("-c", "[.[] | select(.v > 1) | .k] | sort", "j.json"),
      files: [{ path: "j.json", content: '[{"k":"b","v":2},{"k":"a","v":3},{"k":"c","v":1}]' }],
    },
    {
      name: "file",
      program: "/usr/bin/file",
      steps: args("-b", "w.txt", "s.py"),
      files: [{ path: "w.txt", content: words }, {
        path: "s.py",
        content: "#!/usr/bin/python3\nprint(1)\n",
      }],
    },
  ];
}

function lsTree(): FileSpec[] {
  return [
    { path: "d/a.txt", content: words },
    { path: "d/b.txt", content: "b\n", mode: 0o600 },
    { path: "d/sub", type: "dir" },
    { path: "d/sub/c.txt", content: numbers },
    { path: "d/link", type: "symlink", target: "a.txt" },
  ];
}

/** The sysroot cases, with `sysroot` the host directory (a missing one skips them all). */
export function sysrootCases(sysroot: string, present: boolean): Case[] {
  return definitions().map((d) => ({
    name: `debian/${d.name}`,
    group: "debian",
    program: `${sysroot}${d.program}`,
    sysroot,
    steps: d.steps,
    env: d.env,
    files: d.files,
    timeout: d.timeout ?? 60,
    quick: d.quick ?? false,
    needsExec: d.needsExec,
    expect: d.expect,
    skip: present ? undefined : `${SYSROOT_PATH} missing: run tools/setup.sh (or ./dev matrix)`,
  }));
}

/**
 * Builds (or tops up) the matrix's sysroot: `deno run -A matrix/corpus_sysroot.ts` (tools/setup.sh
 * runs it). Quick when the packages are the ones already there.
 */
async function setUp(repo: string): Promise<void> {
  const dir = `${repo}/${SYSROOT_PATH}`;
  const stamp = `${dir}/.elfuse/packages`;
  const want = SYSROOT_PACKAGES.join(" ");
  try {
    if (Deno.readTextFileSync(stamp) === want) return;
  } catch {
    console.error(`setup: building the matrix's Debian sysroot in ${SYSROOT_PATH} (once)`);
  }
  const { createSysroot } = await import("../runtime/sysroot/create.ts");
  await createSysroot({ dir, packages: SYSROOT_PACKAGES });
  Deno.writeTextFileSync(stamp, want);
}

if (import.meta.main) {
  try {
    await setUp(new URL("..", import.meta.url).pathname.replace(/\/$/, ""));
  } catch (e) {
    console.error(`setup: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
