// vFile host I/O (GDB manual, "Host I/O Packets"): gdb reads the guest's files through the stub,
// so that with its default sysroot ("target:") it finds ld.so and the libraries of a dynamic
// program, under --sysroot too, by their guest paths. Read-only: open for writing is refused.
// fstat is left unsupported (gdb then takes the size as unknown and reads until the end).
import type { Process } from "../kernel/process.ts";
import { fromHex, parseHexNumber } from "./packets.ts";

/** gdb's File-I/O errno values (GDB manual, "Errno Values"). */
const ENOENT = 2, EBADF = 9, EACCES = 13, EINVAL = 22;
/** Most files one session keeps open. */
const MAX_OPEN = 64;

export class HostIo {
  readonly #proc: Process;
  readonly #files = new Map<number, Deno.FsFile>();
  #nextFd = 1;

  constructor(proc: Process) {
    this.#proc = proc;
  }

  /** The reply to a vFile: packet (`F...`), or "" for an operation not supported. */
  handle(p: string): string {
    const colon = p.indexOf(":", 6);
    const op = p.slice(6, colon < 0 ? undefined : colon);
    const args = colon < 0 ? [] : p.slice(colon + 1).split(",");
    switch (op) {
      case "setfs":
        return "F0"; // every fs is the guest's: there is one process
      case "open":
        return this.#open(args);
      case "pread":
        return this.#pread(args);
      case "close": {
        const fd = parseHexNumber(args[0] ?? "");
        const f = fd === undefined ? undefined : this.#files.get(fd);
        if (f === undefined) return `F-1,${EBADF.toString(16)}`;
        f.close();
        this.#files.delete(fd!);
        return "F0";
      }
    }
    return "";
  }

  #open(args: string[]): string {
    const bytes = fromHex(args[0] ?? ""), flags = parseHexNumber(args[1] ?? "");
    if (bytes === undefined || flags === undefined) return `F-1,${EINVAL.toString(16)}`;
    if ((flags & 3) !== 0) return `F-1,${EACCES.toString(16)}`; // not O_RDONLY
    if (this.#files.size >= MAX_OPEN) return `F-1,${(24).toString(16)}`; // EMFILE
    const guest = new TextDecoder().decode(bytes);
    const sysroot = this.#proc.info.sysroot;
    const host = sysroot === undefined ? guest : sysroot.hostPath(guest);
    if (typeof host === "number") return `F-1,${(-host).toString(16)}`;
    try {
      const f = Deno.openSync(host, { read: true });
      if (!f.statSync().isFile) {
        f.close();
        return `F-1,${EACCES.toString(16)}`;
      }
      const fd = this.#nextFd++;
      this.#files.set(fd, f);
      return `F${fd.toString(16)}`;
    } catch (e) {
      return `F-1,${(e instanceof Deno.errors.NotFound ? ENOENT : EACCES).toString(16)}`;
    }
  }

  #pread(args: string[]): string {
    const fd = parseHexNumber(args[0] ?? ""), count = parseHexNumber(args[1] ?? "");
    const offset = parseHexNumber(args[2] ?? "");
    const f = fd === undefined ? undefined : this.#files.get(fd);
    if (f === undefined) return `F-1,${EBADF.toString(16)}`;
    if (count === undefined || offset === undefined) return `F-1,${EINVAL.toString(16)}`;
    // Escaping may double the data: half a packet is always room enough.
    const buf = new Uint8Array(Math.min(count, 0x1000));
    f.seekSync(offset, Deno.SeekMode.Start);
    let n = 0;
    while (n < buf.length) {
      const r = f.readSync(buf.subarray(n));
      if (r === null || r === 0) break;
      n += r;
    }
    let s = `F${n.toString(16)};`;
    for (const b of buf.subarray(0, n)) {
      s += b === 0x23 || b === 0x24 || b === 0x7d || b === 0x2a
        ? "}" + String.fromCharCode(b ^ 0x20)
        : String.fromCharCode(b);
    }
    return s;
  }

  close(): void {
    for (const f of this.#files.values()) f.close();
    this.#files.clear();
  }
}
