/**
 * Small helpers for showing results: statuses as text, bytes as text, digests.
 *
 * @module
 */

import type { Status } from "./types.ts";

/** `exit 0`, `SIGSEGV`, `timeout 60s`, `error: ...`. */
export function statusText(s: Status): string {
  switch (s.kind) {
    case "exit":
      return `exit ${s.code}`;
    case "signal":
      return s.name;
    case "timeout":
      return `timeout ${s.seconds}s`;
    case "error":
      return `error: ${s.message}`;
  }
}

/** True when two statuses are the same outcome. */
export function sameStatus(a: Status, b: Status): boolean {
  return statusText(a) === statusText(b);
}

const decoder = new TextDecoder();

/** Bytes as UTF-8 text (invalid sequences become U+FFFD). */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Bytes from a string, or the bytes themselves. */
export function bytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

/** True when the bytes look like text (no NUL, valid UTF-8). */
export function isText(b: Uint8Array): boolean {
  if (b.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** True when the two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The offset of the first differing byte, or -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Lowercase hex SHA-256 of the bytes. */
export async function sha256(b: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** A hex dump in `xxd` style, for showing binary output. */
export function hexdump(b: Uint8Array, start = 0, length = 256): string {
  const lines: string[] = [];
  const end = Math.min(b.length, start + length);
  for (let off = start - (start % 16); off < end; off += 16) {
    const row = b.subarray(off, Math.min(off + 16, b.length));
    const hex = [...row].map((x) => x.toString(16).padStart(2, "0")).join(" ");
    const asc = [...row].map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : ".")).join("");
    lines.push(`${off.toString(16).padStart(8, "0")}: ${hex.padEnd(47)}  ${asc}`);
  }
  return lines.join("\n");
}

/** `s` quoted for a POSIX shell: as it is when safe, else in single quotes. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** At most `max` characters of `s`, with a note of how much was cut. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max)}\n… (${s.length - max} more characters)`;
}
