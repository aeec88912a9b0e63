// A program file opened on the host for loading. The ELF parser reads its headers through it, and
// the loader maps its segments copy-on-write over the guest's memory (memory/slab.ts mapFile), as
// Linux's elf_map() does, instead of reading the file whole and copying it: a 52 MB Go program
// took 95 ms to read and 37 ms to copy before its first instruction; mapped, its pages come from
// the page cache when the guest first touches them.
import type { ElfReader } from "./elf/parse.ts";
import { hostErrno, libc } from "./host/libc.ts";

// O_RDONLY | O_CLOEXEC (Linux asm-generic/fcntl.h; macOS sys/fcntl.h).
const OPEN_FLAGS = Deno.build.os === "darwin" ? 0x1000000 : 0o2000000;
const AT_FDCWD = Deno.build.os === "darwin" ? -2 : -100;
const SEEK_END = 2;
const enc = new TextEncoder();

function addressOf(b: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
}

export class ProgramFile implements ElfReader {
  private constructor(readonly fd: number, readonly size: number) {}

  /** Opens `hostPath` read-only; a host errno when it cannot. */
  static open(hostPath: string): ProgramFile | { errno: number } {
    const path = enc.encode(`${hostPath}\0`);
    const fd = libc.openat(AT_FDCWD, addressOf(path), OPEN_FLAGS, 0);
    if (fd < 0) return { errno: hostErrno() };
    const size = Number(libc.lseek(fd, 0, SEEK_END));
    if (size < 0) {
      const errno = hostErrno();
      libc.close(fd);
      return { errno };
    }
    return new ProgramFile(fd, size);
  }

  read(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = new Uint8Array(n);
    return buf.subarray(0, this.readInto(addressOf(buf), offset, n));
  }

  /** Reads up to `length` bytes at `offset` to host address `to`; how many it read. */
  readInto(to: number, offset: number, length: number): number {
    let got = 0;
    while (got < length) {
      const r = Number(libc.pread(this.fd, to + got, length - got, offset + got));
      if (r <= 0) break;
      got += r;
    }
    return got;
  }

  close(): void {
    libc.close(this.fd);
  }
}
