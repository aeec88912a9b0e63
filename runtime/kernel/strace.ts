// --strace: one line per syscall on stderr, `name(args) = result`, like strace(1). Only loaded
// when asked for, and it wraps the dispatcher instead of slowing the plain path.
import { libc } from "../host/libc.ts";
import { errnoNames } from "./errno.ts";
import type { Task } from "./task.ts";
import { AT_FDCWD } from "./paths.ts";
import { signalName } from "./signals.ts";
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

function formatArg(k: Task, kind: ArgKind, v: number, next: number): string {
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

/** A tracer for the syscall entry (dispatch.ts) that prints every call once it has returned. */
export function straceTracer(rows: TableRow[]): SyscallTracer {
  const byNr = new Map(rows.map((r) => [r.nr, r]));
  const out = (line: string) => {
    const b = enc.encode(line + "\n");
    // Straight to host fd 2 so lines interleave with the guest's own output in order.
    const buf = new Uint8Array(b);
    libc.write(2, Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))), buf.length);
  };
  let shown = "";
  return {
    enter(k, nr) {
      const a = k.args;
      const kinds = byNr.get(nr)?.def?.args ?? [];
      shown = kinds.map((kind, i) => formatArg(k, kind, a[i], a[i + 1])).join(", ");
    },
    leave(k, nr, r) {
      const row = byNr.get(nr);
      const name = row?.name ?? `syscall_${nr}`;
      let res: string;
      if (r < 0 && r > -4096) {
        res = `-1 ${errnoNames[-r] ?? "E?"}${
          row?.status === "missing" ? " (not implemented)" : ""
        }`;
      } else res = row?.def?.hexResult ? hex(r) : String(r);
      if (k.proc.exitStatus !== undefined && (name === "exit_group" || name === "exit")) res = "?";
      const who = k.proc.tasks.length > 1 ? `[${k.tid}] ` : "";
      out(`${who}${name}(${shown}) = ${res}`);
    },
  };
}
