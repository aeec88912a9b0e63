/**
 * The busybox sh corpus: shell scripts that need processes (pipelines, subshells, `$(...)`,
 * background jobs and `wait`, `trap`, `kill`, `set -e`, here-documents, `xargs`, `find -exec`),
 * run as `busybox sh -c SCRIPT`. Debian's busybox-static (FEATURE_SH_STANDALONE) re-executes
 * itself for most applets and runs them in-process when that exec fails, so every case may exec
 * (`mayExec`): qemu-user is a good reference with no binfmt_misc entry for aarch64 and with a
 * faithful one, not with one that loses argv[0] (matrix/binfmt.ts). A case that cannot be right
 * without the exec is marked `needsExec` and says what it prints, so that it is judged on elfuse
 * alone where qemu-user cannot follow.
 *
 * @module
 */

import type { Case, Expected } from "./types.ts";

interface ShCase {
  name: string;
  script: string;
  quick?: boolean;
  needsExec?: boolean;
  /** Why it needs the exec. */
  why?: string;
  /** Its output as Linux gives it, for judging it where the reference cannot run it. */
  expect?: Expected;
}

/**
 * busybox httpd serving a directory on 127.0.0.1, fetched with busybox wget (a page and a 404),
 * then a line through busybox nc from a client to a listener. Ports are picked at random and each
 * wait is a bounded loop, so the script ends by itself.
 */
const netScript = `bb=$(readlink /proc/self/exe) # httpd and nc: applets this sh does not run itself
mkdir -p www && echo "busybox page" > www/index.html
port=$(( 20000 + RANDOM % 20000 ))
"$bb" httpd -f -p 127.0.0.1:$port -h www &
srv=$!
i=0; until wget -q -O - http://127.0.0.1:$port/index.html 2>/dev/null; do
  i=$((i+1)); [ $i -gt 100 ] && echo "no httpd" && break; sleep 0.1; done
wget -q -O - http://127.0.0.1:$port/missing 2>&1 | head -1
kill $srv; wait $srv 2>/dev/null
nport=$((port + 1))
"$bb" nc -l -p $nport > nc.out &
ncpid=$!
i=0; until echo "through nc" | "$bb" nc 127.0.0.1 $nport 2>/dev/null; do
  i=$((i+1)); [ $i -gt 100 ] && echo "no nc listener" && break; sleep 0.1; done
wait $ncpid
cat nc.out`;

const scripts: ShCase[] = [
  {
    name: "httpd-wget-nc",
    script: netScript,
    needsExec: true,
    why: "httpd and nc are exec'd from busybox's own path; qemu-user needs binfmt_misc to follow",
    expect: {
      exit: 0,
      stdout: "busybox page\nwget: server returned error: HTTP/1.1 404 Not Found\nthrough nc\n",
    },
  },
  { name: "pipe3", script: "seq 1 200 | grep 7 | sort -r | head -5", quick: true },
  { name: "pipe5", script: "seq 1 1000 | sed 's/1/one/' | grep one | tr a-z A-Z | wc -l" },
  {
    name: "cmdsubst",
    script: 'x=$(echo hello); y=$(echo "$x world" | wc -c); echo "$x $y"',
    quick: true,
  },
  { name: "nested-subst", script: "echo $(echo a $(echo b $(echo c)))" },
  { name: "subshell", script: '(cd /; pwd); pwd >/dev/null; (exit 7); echo "sub $?"', quick: true },
  { name: "subshell-vars", script: 'a=1; (a=2; echo "in $a"); echo "out $a"' },
  { name: "bg-wait", script: "(sleep 0.1; echo bg) & echo fg; wait; echo done", quick: true },
  { name: "bg-status", script: '(exit 5) & wait $!; echo "status $?"' },
  {
    name: "multi-bg",
    script: "{ for i in 1 2 3; do (echo job $i) & done; wait; } | sort; echo all",
  },
  { name: "trap-exit", script: "trap 'echo bye' EXIT; echo hi" },
  {
    name: "trap-usr1",
    script: "trap 'echo got usr1' USR1; kill -USR1 $$; echo after",
    quick: true,
  },
  { name: "trap-term", script: "trap 'echo term; exit 3' TERM; kill -TERM $$; echo notreached" },
  { name: "trap-int", script: "trap 'echo int' INT; kill -INT $$; echo after int" },
  { name: "kill-bg", script: 'sleep 5 & p=$!; kill $p; wait $p; echo "killed $?"', quick: true },
  { name: "kill-bg-9", script: 'sleep 5 & p=$!; kill -9 $p; wait $p; echo "killed $?"' },
  { name: "set-e", script: "set -e; true; echo one; false; echo two", quick: true },
  { name: "set-e-pipe", script: "set -e; echo x | false || echo handled; echo end" },
  { name: "pipe-status", script: 'false | true; echo "a $?"; true | false; echo "b $?"' },
  { name: "pipefail", script: 'set -o pipefail; false | true; echo "pf $?"' },
  { name: "heredoc", script: "cat <<EOT\nline one\nvalue $((2+3))\nEOT", quick: true },
  { name: "heredoc-quoted", script: "cat <<'EOT'\nno $expansion here\nEOT" },
  { name: "redirect", script: "echo out > f; echo more >> f; cat f; wc -l < f" },
  { name: "redirect-err", script: 'ls /nonexistent-dir 2>err; echo "rc $?"; wc -l < err' },
  { name: "dup-fd", script: "exec 3>g; echo to3 >&3; exec 3>&-; cat g" },
  { name: "xargs", script: "seq 1 10 | xargs echo", quick: true },
  { name: "xargs-n", script: "seq 1 7 | xargs -n 3 echo" },
  {
    name: "find-exec",
    script: "mkdir -p d/e; touch d/a d/e/b; find d -type f -exec echo found {} \\; | sort",
  },
  {
    name: "timeout",
    script: 'timeout 1 sleep 5; echo "timeout rc $?"',
    needsExec: true,
    why: "busybox timeout execs its program, whose exit status it reports",
    expect: { exit: 0, stdout: "timeout rc 143\n" },
  },
  { name: "timeout-ok", script: 'timeout 5 echo fine; echo "rc $?"' },
  {
    name: "functions",
    script: 'f() { echo "f $1 $#"; return 3; }; f a b; echo "ret $?"',
    quick: true,
  },
  {
    name: "recursion",
    script:
      "fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }; fact 10",
  },
  { name: "arith", script: "i=0; while [ $i -lt 100 ]; do i=$((i+3)); done; echo $i" },
  {
    name: "case",
    script:
      "for w in apple banana cherry; do case $w in a*) echo A;; b*) echo B;; *) echo other;; esac; done",
  },
  {
    name: "loops",
    script: 'for i in $(seq 1 5); do for j in 1 2; do printf "%s%s " $i $j; done; done; echo',
  },
  {
    name: "while-read",
    script: "printf 'a 1\\nb 2\\nc 3\\n' | while read k v; do echo \"$v=$k\"; done",
    quick: true,
  },
  { name: "exit-code", script: "sh -c 'exit 42'; echo \"child $?\"", quick: true },
  { name: "nested-sh", script: 'sh -c \'sh -c "echo deep; exit 3"; echo "mid $?"\'' },
  { name: "eval", script: "cmd='echo evaluated'; eval \"$cmd\"" },
  { name: "ifs", script: 'IFS=:; set -- a:b:c; echo $#; echo "$2"' },
  {
    name: "getopts",
    script: 'set -- -a -b val x; while getopts ab: o; do echo "$o $OPTARG"; done',
  },
  { name: "readonly", script: 'readonly r=1; (r=2) 2>/dev/null; echo "r=$r"' },
  { name: "umask", script: "umask 027; touch u; stat -c %a u" },
  { name: "test-ops", script: "[ -d / ] && [ ! -f / ] && [ abc = abc ] && echo ok" },
  { name: "string-ops", script: "s=hello.tar.gz; echo ${s%.gz} ${s%%.*} ${s#*.} ${#s}" },
  { name: "env-pass", script: "FOO=bar sh -c 'echo $FOO'" },
  { name: "exec-builtin", script: "(exec echo replaced); echo after" },
  {
    name: "wait-order",
    script:
      '(sleep 0.2; exit 1) & a=$!; (exit 2) & b=$!; wait $b; echo "b $?"; wait $a; echo "a $?"',
  },
  { name: "long-script", script: "sh ./long.sh" },
];

/** A 200-line script with functions, loops, arithmetic and here-documents. */
const longScript =
  '#!/bin/sh\n# A long script: functions, loops, arithmetic, case, string handling, here-docs.\nset -e\ntotal=0\nf1() {\n  local n=$1\n  r=$(( n * 1 + 1 ))\n  case $(( r % 3 )) in 0) echo "f1 fizz $r";; 1) echo "f1 one $r";; *) echo "f1 other $r";; esac\n  total=$(( total + r ))\n}\nf2() {\n  local n=$1\n  r=$(( n * 2 + 2 ))\n  case $(( r % 3 )) in 0) echo "f2 fizz $r";; 1) echo "f2 one $r";; *) echo "f2 other $r";; esac\n  total=$(( total + r ))\n}\nf3() {\n  local n=$1\n  r=$(( n * 3 + 3 ))\n  case $(( r % 3 )) in 0) echo "f3 fizz $r";; 1) echo "f3 one $r";; *) echo "f3 other $r";; esac\n  total=$(( total + r ))\n}\nf4() {\n  local n=$1\n  r=$(( n * 4 + 4 ))\n  case $(( r % 3 )) in 0) echo "f4 fizz $r";; 1) echo "f4 one $r";; *) echo "f4 other $r";; esac\n  total=$(( total + r ))\n}\nf5() {\n  local n=$1\n  r=$(( n * 5 + 5 ))\n  case $(( r % 3 )) in 0) echo "f5 fizz $r";; 1) echo "f5 one $r";; *) echo "f5 other $r";; esac\n  total=$(( total + r ))\n}\nf6() {\n  local n=$1\n  r=$(( n * 6 + 6 ))\n  case $(( r % 3 )) in 0) echo "f6 fizz $r";; 1) echo "f6 one $r";; *) echo "f6 other $r";; esac\n  total=$(( total + r ))\n}\nf7() {\n  local n=$1\n  r=$(( n * 7 + 0 ))\n  case $(( r % 3 )) in 0) echo "f7 fizz $r";; 1) echo "f7 one $r";; *) echo "f7 other $r";; esac\n  total=$(( total + r ))\n}\nf8() {\n  local n=$1\n  r=$(( n * 8 + 1 ))\n  case $(( r % 3 )) in 0) echo "f8 fizz $r";; 1) echo "f8 one $r";; *) echo "f8 other $r";; esac\n  total=$(( total + r ))\n}\nf9() {\n  local n=$1\n  r=$(( n * 9 + 2 ))\n  case $(( r % 3 )) in 0) echo "f9 fizz $r";; 1) echo "f9 one $r";; *) echo "f9 other $r";; esac\n  total=$(( total + r ))\n}\nf10() {\n  local n=$1\n  r=$(( n * 10 + 3 ))\n  case $(( r % 3 )) in 0) echo "f10 fizz $r";; 1) echo "f10 one $r";; *) echo "f10 other $r";; esac\n  total=$(( total + r ))\n}\nf11() {\n  local n=$1\n  r=$(( n * 11 + 4 ))\n  case $(( r % 3 )) in 0) echo "f11 fizz $r";; 1) echo "f11 one $r";; *) echo "f11 other $r";; esac\n  total=$(( total + r ))\n}\nf12() {\n  local n=$1\n  r=$(( n * 12 + 5 ))\n  case $(( r % 3 )) in 0) echo "f12 fizz $r";; 1) echo "f12 one $r";; *) echo "f12 other $r";; esac\n  total=$(( total + r ))\n}\nf13() {\n  local n=$1\n  r=$(( n * 13 + 6 ))\n  case $(( r % 3 )) in 0) echo "f13 fizz $r";; 1) echo "f13 one $r";; *) echo "f13 other $r";; esac\n  total=$(( total + r ))\n}\nf14() {\n  local n=$1\n  r=$(( n * 14 + 0 ))\n  case $(( r % 3 )) in 0) echo "f14 fizz $r";; 1) echo "f14 one $r";; *) echo "f14 other $r";; esac\n  total=$(( total + r ))\n}\nf15() {\n  local n=$1\n  r=$(( n * 15 + 1 ))\n  case $(( r % 3 )) in 0) echo "f15 fizz $r";; 1) echo "f15 one $r";; *) echo "f15 other $r";; esac\n  total=$(( total + r ))\n}\nf16() {\n  local n=$1\n  r=$(( n * 16 + 2 ))\n  case $(( r % 3 )) in 0) echo "f16 fizz $r";; 1) echo "f16 one $r";; *) echo "f16 other $r";; esac\n  total=$(( total + r ))\n}\nf17() {\n  local n=$1\n  r=$(( n * 17 + 3 ))\n  case $(( r % 3 )) in 0) echo "f17 fizz $r";; 1) echo "f17 one $r";; *) echo "f17 other $r";; esac\n  total=$(( total + r ))\n}\nf18() {\n  local n=$1\n  r=$(( n * 18 + 4 ))\n  case $(( r % 3 )) in 0) echo "f18 fizz $r";; 1) echo "f18 one $r";; *) echo "f18 other $r";; esac\n  total=$(( total + r ))\n}\nf19() {\n  local n=$1\n  r=$(( n * 19 + 5 ))\n  case $(( r % 3 )) in 0) echo "f19 fizz $r";; 1) echo "f19 one $r";; *) echo "f19 other $r";; esac\n  total=$(( total + r ))\n}\nf20() {\n  local n=$1\n  r=$(( n * 20 + 6 ))\n  case $(( r % 3 )) in 0) echo "f20 fizz $r";; 1) echo "f20 one $r";; *) echo "f20 other $r";; esac\n  total=$(( total + r ))\n}\nf21() {\n  local n=$1\n  r=$(( n * 21 + 0 ))\n  case $(( r % 3 )) in 0) echo "f21 fizz $r";; 1) echo "f21 one $r";; *) echo "f21 other $r";; esac\n  total=$(( total + r ))\n}\nf22() {\n  local n=$1\n  r=$(( n * 22 + 1 ))\n  case $(( r % 3 )) in 0) echo "f22 fizz $r";; 1) echo "f22 one $r";; *) echo "f22 other $r";; esac\n  total=$(( total + r ))\n}\nf23() {\n  local n=$1\n  r=$(( n * 23 + 2 ))\n  case $(( r % 3 )) in 0) echo "f23 fizz $r";; 1) echo "f23 one $r";; *) echo "f23 other $r";; esac\n  total=$(( total + r ))\n}\nf24() {\n  local n=$1\n  r=$(( n * 24 + 3 ))\n  case $(( r % 3 )) in 0) echo "f24 fizz $r";; 1) echo "f24 one $r";; *) echo "f24 other $r";; esac\n  total=$(( total + r ))\n}\nf25() {\n  local n=$1\n  r=$(( n * 25 + 4 ))\n  case $(( r % 3 )) in 0) echo "f25 fizz $r";; 1) echo "f25 one $r";; *) echo "f25 other $r";; esac\n  total=$(( total + r ))\n}\nf26() {\n  local n=$1\n  r=$(( n * 26 + 5 ))\n  case $(( r % 3 )) in 0) echo "f26 fizz $r";; 1) echo "f26 one $r";; *) echo "f26 other $r";; esac\n  total=$(( total + r ))\n}\nf27() {\n  local n=$1\n  r=$(( n * 27 + 6 ))\n  case $(( r % 3 )) in 0) echo "f27 fizz $r";; 1) echo "f27 one $r";; *) echo "f27 other $r";; esac\n  total=$(( total + r ))\n}\nf28() {\n  local n=$1\n  r=$(( n * 28 + 0 ))\n  case $(( r % 3 )) in 0) echo "f28 fizz $r";; 1) echo "f28 one $r";; *) echo "f28 other $r";; esac\n  total=$(( total + r ))\n}\nf29() {\n  local n=$1\n  r=$(( n * 29 + 1 ))\n  case $(( r % 3 )) in 0) echo "f29 fizz $r";; 1) echo "f29 one $r";; *) echo "f29 other $r";; esac\n  total=$(( total + r ))\n}\nf30() {\n  local n=$1\n  r=$(( n * 30 + 2 ))\n  case $(( r % 3 )) in 0) echo "f30 fizz $r";; 1) echo "f30 one $r";; *) echo "f30 other $r";; esac\n  total=$(( total + r ))\n}\nf31() {\n  local n=$1\n  r=$(( n * 31 + 3 ))\n  case $(( r % 3 )) in 0) echo "f31 fizz $r";; 1) echo "f31 one $r";; *) echo "f31 other $r";; esac\n  total=$(( total + r ))\n}\nfor j in 4 5 6; do f31 $j; done\nfor i in $(seq 1 30); do\n  for j in 1 2 3; do\n    f$i $j\n  done\ndone\necho "total $total"\nwords="alpha beta gamma delta"\nfor w in $words; do echo "${#w} $w" ; done | sort -n\ncat <<EOT\nhere $total\nEOT\ni=0; while [ $i -lt 50 ]; do i=$((i+1)); [ $((i % 10)) -eq 0 ] && echo "tick $i"; done; echo end\n';

/**
 * The sh cases for a busybox binary.
 *
 * @example
 * ```ts
 * const cases = shCases("/work/main/.tools/debs/busybox-static/bin/busybox");
 * console.log(cases.length);
 * ```
 */
export function shCases(busybox: string): Case[] {
  return scripts.map((s) => ({
    name: `sh/${s.name}`,
    group: "sh",
    program: busybox,
    steps: [{ args: ["sh", "-c", s.script] }],
    files: s.name === "long-script" ? [{ path: "long.sh", content: longScript }] : undefined,
    timeout: 60,
    quick: s.quick ?? false,
    needsExec: s.needsExec,
    mayExec: true,
    expect: s.expect,
  }));
}
