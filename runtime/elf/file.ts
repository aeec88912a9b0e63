// Reading a program file for loading. A small one is read whole; a big one (box64 is 28 MB, a Go
// program tens of MB) is not: its headers are parsed from a prefix and its segments are read
// straight into guest memory when it is loaded, so the file passes through memory once instead of
// twice (measured here: reading box64 whole took 64-77 ms of a 366 ms x86-64 start-up).
import { ElfError, type ElfImage, parseElf } from "./parse.ts";

/** Reads `dest.length` bytes of the file at `offset` into `dest` (guest memory). */
export type SegmentReader = (offset: number, dest: Uint8Array) => void;

/** Files at least this big are read by segments. */
export const WHOLE_READ_MAX = 4 * 1024 * 1024;
/** How much of a big file is read for its headers (PT_INTERP and the program headers). */
const PREFIX = 64 * 1024;

export interface ElfFile {
  /** The whole file, or a prefix of a big one (at least its first bytes: `#!`, the headers). */
  bytes: Uint8Array;
  /** The file's size. */
  size: number;
  /** For a big file: reads its segments (undefined: `bytes` is the whole file). */
  read?: SegmentReader;
}

/**
 * Reads a program file (throws what Deno.readFileSync throws). `whole`: read it whole whatever its
 * size, for a path that may stop leading to it before it is loaded (execveat's /proc/self/fd/N of
 * a close-on-exec descriptor).
 */
export function readElfFile(hostPath: string, whole = false): ElfFile {
  const f = Deno.openSync(hostPath);
  try {
    const size = f.statSync().size;
    if (size < WHOLE_READ_MAX || whole) {
      f.close();
      const bytes = Deno.readFileSync(hostPath);
      return { bytes, size: bytes.length };
    }
    const bytes = new Uint8Array(PREFIX);
    readFully(f, bytes);
    f.close();
    return { bytes, size, read: segmentReader(hostPath) };
  } catch (e) {
    try {
      f.close();
    } catch {
      // already closed
    }
    throw e;
  }
}

function readFully(f: Deno.FsFile, dest: Uint8Array): void {
  for (let done = 0; done < dest.length;) {
    const n = f.readSync(dest.subarray(done));
    if (n === null || n === 0) throw new ElfError("the file is shorter than its headers say");
    done += n;
  }
}

function segmentReader(hostPath: string): SegmentReader {
  return (offset, dest) => {
    let f: Deno.FsFile | undefined;
    try {
      f = Deno.openSync(hostPath);
      f.seekSync(offset, Deno.SeekMode.Start);
      readFully(f, dest);
    } catch (e) {
      // Removed or cut short since its headers were read: the load fails, as a mapping past the
      // end of a file would fault.
      if (e instanceof ElfError) throw e;
      throw new ElfError(`reading its segments: ${(e as Error).message}`);
    } finally {
      f?.close();
    }
  };
}

/**
 * Parses a program's headers. A big file's prefix is enough when its headers and PT_INTERP lie in
 * it; otherwise the file is read whole after all, so the result (or the error) is the same.
 */
export function parseElfFile(file: ElfFile, hostPath: string): { elf: ElfImage; file: ElfFile } {
  if (file.read === undefined) return { elf: parseElf(file.bytes), file };
  try {
    return { elf: parseElf(file.bytes, file.size), file };
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    const bytes = Deno.readFileSync(hostPath);
    return { elf: parseElf(bytes), file: { bytes, size: bytes.length } };
  }
}
