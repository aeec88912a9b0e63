import assert from "node:assert/strict";
import { decode, decoderFor, SYSCALL_ARGUMENTS } from "./strace_decode.ts";
import { tableRows } from "./table.ts";

const show = (name: string, index: number, value: number, kind = "hex") =>
  decode(decoderFor(name, index, kind)!, value);

Deno.test("flags as strace shows them: names joined by |, unknown bits in hex", () => {
  assert.equal(
    show("openat", 2, 0o2000000 | 0o100 | 0o1000 | 1),
    "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC",
  );
  assert.equal(show("openat", 2, 0), "O_RDONLY");
  assert.equal(show("openat", 2, 0o4010002), "O_RDWR|O_SYNC", "O_SYNC includes O_DSYNC's bit");
  assert.equal(show("openat", 2, 0o10000), "O_RDONLY|O_DSYNC");
  assert.equal(show("openat", 2, 0o40000 | 0o400000), "O_RDONLY|O_DIRECTORY|O_LARGEFILE");
  assert.equal(show("openat", 2, 0x80000000), "O_RDONLY|0x80000000");
  assert.equal(show("x", 0, 0o4000, "oflags"), "O_RDONLY|O_NONBLOCK", "the oflags kind anywhere");
  assert.equal(show("pipe2", 1, 0o2000000), "O_CLOEXEC");
  assert.equal(show("dup3", 2, 0), "0");
  assert.equal(show("mmap", 2, 0), "PROT_NONE");
  assert.equal(show("mmap", 2, 7), "PROT_READ|PROT_WRITE|PROT_EXEC");
  assert.equal(show("mmap", 3, 0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
  assert.equal(show("mmap", 3, 0x100011), "MAP_SHARED|MAP_FIXED|MAP_FIXED_NOREPLACE");
  assert.equal(show("newfstatat", 3, 0x1100), "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH");
  assert.equal(show("unlinkat", 2, 0x200), "AT_REMOVEDIR");
  assert.equal(show("faccessat2", 3, 0x200), "AT_EACCESS");
  assert.equal(show("faccessat", 2, 0), "F_OK");
  assert.equal(show("faccessat", 2, 5), "R_OK|X_OK");
  assert.equal(
    show("clone", 0, 0x4000 | 0x100 | 17),
    "CLONE_VM|CLONE_VFORK|SIGCHLD",
    "the exit signal last, as strace",
  );
  assert.equal(show("clone", 0, 0x80000000), "CLONE_IO", "bit 31");
  assert.equal(show("wait4", 2, 1 | 0x40000000), "WNOHANG|__WALL");
});

Deno.test("enumerations: names, flag bits beside them, unknown values in hex", () => {
  assert.equal(show("lseek", 2, 2), "SEEK_END");
  assert.equal(show("fcntl", 1, 1030), "F_DUPFD_CLOEXEC");
  assert.equal(show("fcntl", 1, 999), "0x3e7");
  assert.equal(show("futex", 1, 128 | 1), "FUTEX_WAKE|FUTEX_PRIVATE_FLAG");
  assert.equal(
    show("futex", 1, 128 | 9 | 256),
    "FUTEX_WAIT_BITSET|FUTEX_PRIVATE_FLAG|FUTEX_CLOCK_REALTIME",
  );
  assert.equal(show("rt_sigprocmask", 0, 2), "SIG_SETMASK");
  assert.equal(show("clock_gettime", 0, 1), "CLOCK_MONOTONIC");
  assert.equal(show("ioctl", 1, 0x5413), "TIOCGWINSZ");
  assert.equal(show("prlimit64", 1, 3), "RLIMIT_STACK");
  assert.equal(show("madvise", 2, 4), "MADV_DONTNEED");
});

Deno.test("every syscall the decode table names exists, with an argument at that position", () => {
  const rows = new Map(tableRows().map((r) => [r.name, r]));
  for (const [name, args] of Object.entries(SYSCALL_ARGUMENTS)) {
    const row = rows.get(name);
    assert.ok(row, `${name} is not in the syscall table`);
    for (const index of Object.keys(args).map(Number)) {
      assert.ok(
        (row.def?.args?.length ?? 0) > index,
        `${name} has no argument ${index} for --strace to show`,
      );
    }
  }
});
