// Starting host processes: posix_spawn with exactly the fds a child should have, and the command
// line that runs this elfuse again (`deno run -A cli.ts ...` or a compiled binary).
import { libc, type Scratch } from "./libc.ts";

const enc = new TextEncoder();

/** The command line that runs this elfuse again with internal `args` (deno run or compiled). */
export function selfCommand(args: string[]): string[] {
  const main = Deno.mainModule.startsWith("file:") ? new URL(Deno.mainModule).pathname : undefined;
  const self = Deno.execPath();
  const viaDeno = main !== undefined && !main.endsWith(self) && /\/deno(\.exe)?$/.test(self);
  return viaDeno ? [self, "run", "-A", main, ...args] : [self, ...args];
}

function cStrings(s: Scratch, strings: string[], at: number): number {
  // An argv-style array in scratch: pointers first, then the strings.
  let str = at + (strings.length + 1) * 8;
  strings.forEach((x, i) => {
    const bytes = enc.encode(x + "\0");
    s.u8.set(bytes, str);
    s.view.setBigUint64(at + i * 8, BigInt(s.address + str), true);
    str += bytes.length;
  });
  s.view.setBigUint64(at + strings.length * 8, 0n, true);
  return s.address + at;
}

/**
 * posix_spawn of a host program that inherits exactly the fds in `fds` ([ours, its number]; a
 * dup2 onto the same number clears FD_CLOEXEC, glibc >= 2.29), using `s` from 0x9000 up.
 * `resetSignals` gives it default dispositions and an empty mask; `closeFrom` closes every fd
 * from that number on in the child. Returns its pid or -errno.
 */
export function spawnHost(
  s: Scratch,
  path: string,
  argv: string[],
  fds: [number, number][],
  resetSignals = false,
  closeFrom = -1,
): number {
  const actions = s.address + 0x9000; // posix_spawn_file_actions_t (80 bytes on glibc)
  const attr = s.address + 0x9600; // posix_spawnattr_t (336 bytes on glibc)
  libc.posix_spawn_file_actions_init(actions);
  for (const [from, to] of fds) libc.posix_spawn_file_actions_adddup2(actions, from, to);
  // Close-on-exec fds are only closed after the exec has let the parent go on (the exec's new
  // memory map releases a vfork parent first), so for a moment the child still holds the
  // parent's pipes: a guest could see a reader that is not there. Closing them before the exec
  // removes that window.
  const closefrom = libc.posix_spawn_file_actions_addclosefrom_np as
    | ((actions: number, from: number) => number)
    | null;
  if (closeFrom >= 0) closefrom?.(actions, closeFrom);
  if (resetSignals) {
    libc.posix_spawnattr_init(attr);
    s.u8.fill(0xff, 0x9800, 0x9880); // sigfillset
    libc.posix_spawnattr_setsigdefault(attr, s.address + 0x9800);
    s.u8.fill(0, 0x9880, 0x9900); // sigemptyset
    libc.posix_spawnattr_setsigmask(attr, s.address + 0x9880);
    libc.posix_spawnattr_setflags(attr, 0x04 | 0x08); // POSIX_SPAWN_SETSIGDEF | SETSIGMASK
  }
  const argvp = cStrings(s, argv, 0xa000);
  const env = Object.entries(Deno.env.toObject()).map(([a, b]) => `${a}=${b}`);
  const envp = cStrings(s, env, 0xc000);
  const r = enc.encodeInto(path, s.u8.subarray(0x9100, 0x9100 + 0x2ff));
  s.u8[0x9100 + r.written] = 0;
  const err = libc.posix_spawn(
    s.address + 0x9400,
    s.address + 0x9100,
    actions,
    resetSignals ? attr : 0,
    argvp,
    envp,
  );
  libc.posix_spawn_file_actions_destroy(actions);
  if (resetSignals) libc.posix_spawnattr_destroy(attr);
  return err !== 0 ? -err : s.view.getInt32(0x9400, true);
}
