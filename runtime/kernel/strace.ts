// --strace: one line per syscall on stderr (or --strace-file's file), `name(args) = result`, like
// strace(1), with `[pid N]` (or `[tid N]` for a thread) in front once the guest has more than one
// process or thread. Only loaded when asked for, and it wraps the dispatcher instead of slowing
// the plain path. Flag and enumeration arguments are decoded by the tables of strace_decode.ts.
import { Reg } from "../backends/backend.ts";
import { libc } from "../host/libc.ts";
import { errnoNames } from "./errno.ts";
import type { Task } from "./task.ts";
import { AT_FDCWD } from "./paths.ts";
import { signalName } from "./signals.ts";
import { decode, decoderFor } from "./strace_decode.ts";
import type { ArgKind } from "./syscall_def.ts";
import type { TableRow } from "./table.ts";
import type { SyscallTracer } from "./dispatch.ts";

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
  k: Task,
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
      const s = k.proc.strlen(v);
      return s < 0 ? hex(v) : quote(k.proc.mem.subarray(v, v + s), 256);
    }
    case "inbuf":
      return k.proc.canRead(v, Math.min(next, 32))
        ? quote(k.proc.mem.subarray(v, v + Math.max(0, Math.min(next, 4096))), 32)
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
 * several threads or children it has not reaped, or is itself a fork child (in-process or in a
 * host process of its own). Lines then start with a prefix, as strace -f's do.
 */
export function moreThanOneTask(k: Task): boolean {
  const p = k.proc;
  return p.tasks.length > 1 || p.children.size > 0 || p.parentPid !== undefined ||
    forkChildProcess;
}

/** `[pid N] ` (`[tid N] ` for one of several threads) in front of a line, or "" while alone. */
export function tracePrefix(k: Task): string {
  if (!moreThanOneTask(k)) return "";
  return k.proc.tasks.length > 1 ? `[tid ${k.tid}] ` : `[pid ${k.proc.pid}] `;
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

/** A tracer for the syscall entry (dispatch.ts) that prints every call once it has returned. */
export function straceTracer(rows: TableRow[]): SyscallTracer {
  const byNr = new Map(rows.map((r) => [r.nr, r]));
  // One sink per host process: in-process fork children share their parent's.
  const out = sink ??= traceSink();
  let shown = "";
  return {
    enter(k, nr) {
      const a = k.args;
      const row = byNr.get(nr);
      const name = row?.name ?? `syscall_${nr}`;
      const kinds = row?.def?.args ?? [];
      shown = kinds.map((kind, i) => formatArg(k, name, i, kind, a[i], a[i + 1])).join(", ");
    },
    leave(k, nr, r) {
      const row = byNr.get(nr);
      const name = row?.name ?? `syscall_${nr}`;
      // NaN (RESULT_SET): the handler wrote x0 itself (execve, lseek past 2^53): show that.
      if (r !== r) r = Number(BigInt.asIntN(64, k.proc.vcpu.getBig(Reg.X0)));
      let res: string;
      if (r < 0 && r > -4096) {
        res = `-1 ${errnoNames[-r] ?? "E?"}${
          row?.status === "missing" ? " (not implemented)" : ""
        }`;
      } else res = row?.def?.hexResult ? hex(r) : String(r);
      if (k.proc.exitStatus !== undefined && (name === "exit_group" || name === "exit")) res = "?";
      out(`${tracePrefix(k)}${name}(${shown}) = ${res}`);
    },
  };
}
