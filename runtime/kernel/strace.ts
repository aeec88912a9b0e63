// --strace: one line per syscall on stderr (or --strace-file's file), `name(args) = result`, like
// strace(1), with `[pid N]` in front once the guest has more than one process. Only loaded when
// asked for, and it wraps the dispatcher instead of slowing the plain path. Flag and enumeration
// arguments are decoded by the tables of strace_decode.ts.
import { Reg } from "../backends/backend.ts";
import { libc } from "../host/libc.ts";
import { errnoNames } from "./errno.ts";
import type { Kernel } from "./kernel.ts";
import { AT_FDCWD } from "./paths.ts";
import { signalName } from "./signals.ts";
import { decode, decoderFor } from "./strace_decode.ts";
import { deliverPending, takeHostSignals } from "./syscalls/signal.ts";
import type { ArgKind } from "./syscall_def.ts";
import type { TableRow } from "./table.ts";

const enc = new TextEncoder();

function quote(bytes: Uint8Array, max: number): string {
  let s = "";
  for (let i = 0; i < Math.min(bytes.length, max); i++) {
    const c = bytes[i];
    if (c === 0x0a) s += "\\n";
    else if (c === 0x09) s += "\\t";
    else if (c === 0x22 || c === 0x5c) s += "\\" + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += "\\x" + c.toString(16).padStart(2, "0");
  }
  return `"${s}"${bytes.length > max ? "..." : ""}`;
}

const hex = (v: number) => (v < 0 ? "-0x" + (-v).toString(16) : "0x" + v.toString(16));

function formatArg(
  k: Kernel,
  syscall: string,
  index: number,
  kind: ArgKind,
  v: number,
  next: number,
): string {
  const decoder = decoderFor(syscall, index, kind);
  if (decoder !== undefined) return decode(decoder, v);
  switch (kind) {
    case "fd":
      return String(v | 0);
    case "dirfd":
      return (v | 0) === AT_FDCWD ? "AT_FDCWD" : String(v | 0);
    case "path": {
      const s = k.strlen(v);
      return s < 0 ? hex(v) : quote(k.mem.subarray(v, v + s), 256);
    }
    case "inbuf":
      return k.canRead(v, Math.min(next, 32))
        ? quote(k.mem.subarray(v, v + Math.max(0, Math.min(next, 4096))), 32)
        : hex(v);
    case "outbuf":
    case "ptr":
      return v === 0 ? "NULL" : hex(v);
    case "hex":
    case "oflags":
      return hex(v);
    case "octal":
      return "0" + (v >>> 0).toString(8);
    case "signal":
      return signalName(v | 0);
    case "uint":
      return String(v < 0 ? v + 2 ** 64 : v);
    default:
      return String(v);
  }
}

/** This host process runs a guest fork child (cli.ts --fork-child, --fork-spare). */
const forkChildProcess = Deno.args[0] === "--fork-child" || Deno.args[0] === "--fork-spare";

/**
 * True when more than one guest process or thread may be writing trace lines: this process has
 * children it has not reaped, or is itself a fork child (in-process or in a host process of its
 * own). Lines then start with `[pid N]`, as strace -f's do. Threads do not exist yet; when they
 * do, the kernel's thread count belongs here too.
 */
export function moreThanOneTask(k: Kernel): boolean {
  return k.children.size > 0 || k.parentPid !== undefined || forkChildProcess;
}

/** The `[pid N] ` in front of a trace line, or "" while the guest is one process. */
export function tracePrefix(k: Kernel): string {
  return moreThanOneTask(k) ? `[pid ${k.pid}] ` : "";
}

/**
 * Where trace lines go: host fd 2 (straight, so they interleave with the guest's own stderr in
 * order), or the file --strace-file named (cli.ts truncates it and passes it to every process of
 * the run as ELFUSE_STRACE_FILE; each appends whole lines).
 */
function traceSink(): (line: string) => void {
  const path = Deno.env.get("ELFUSE_STRACE_FILE");
  if (path) {
    const file = Deno.openSync(path, { append: true, create: true });
    return (line) => file.writeSync(enc.encode(line + "\n"));
  }
  return (line) => {
    const buf = enc.encode(line + "\n");
    libc.write(2, Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))), buf.length);
  };
}

let sink: ((line: string) => void) | undefined;

/** A 64-bit register value as the signed number a syscall returns. */
function signed(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/** Returns a syscall entry point that traces every call, then runs the plain dispatcher. */
export function tracingEntry(k: Kernel, rows: TableRow[]): () => void {
  const byNr = new Map(rows.map((r) => [r.nr, r]));
  // One sink per process: in-process fork children share their parent's.
  const out = sink ??= traceSink();
  return () => {
    const a = k.args;
    const nr = k.vcpu.syscallArgs(a);
    const row = byNr.get(nr);
    const name = row?.name ?? `syscall_${nr}`;
    const kinds = row?.def?.args ?? [];
    const shown = kinds.map((kind, i) => formatArg(k, name, i, kind, a[i], a[i + 1])).join(", ");
    const h = k.table[nr];
    let r = h !== undefined ? h(k, a) : k.unknown(nr);
    if (r === -4 /* EINTR */) r = k.interrupted(nr);
    // NaN (RESULT_SET): the handler wrote x0 itself (execve, lseek past 2^53): show that.
    const result = r === r ? r : signed(k.vcpu.getBig(Reg.X0));
    const restarted = k.hostSignals[0] !== 0 && takeHostSignals(k, nr, r);
    if (!restarted && r === r) k.vcpu.setResult(r);
    if (!restarted && k.signals.wake) deliverPending(k);
    let res: string;
    if (result < 0 && result > -4096) {
      res = `-1 ${errnoNames[-result] ?? "E?"}${
        row?.status === "missing" ? " (not implemented)" : ""
      }`;
    } else res = row?.def?.hexResult ? hex(result) : String(result);
    if (k.exitStatus !== undefined && (name === "exit_group" || name === "exit")) res = "?";
    out(`${tracePrefix(k)}${name}(${shown}) = ${res}`);
  };
}
