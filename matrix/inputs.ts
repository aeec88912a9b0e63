/**
 * Deterministic inputs for the corpus: a seeded PRNG and generators of text, tables, numbers and
 * binary data, plus tiny writers of gzip and tar files (so decompression and extraction cases have
 * inputs that no guest program made). The same seed always gives the same bytes.
 *
 * @module
 */

import { gzipSync } from "node:zlib";

/** A seeded PRNG (sfc32 seeded by splitmix32): fast and reproducible everywhere. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** One element of the array. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
}

const WORDS = (
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar " +
  "papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu apple banana cherry " +
  "damson elder fig grape hazel iris juniper kiwi lemon mango nectar olive peach quince raisin " +
  "sloe tamarind ugli vanilla walnut yam zest Amsterdam Berlin Cairo Dublin Edinburgh Florence " +
  "Geneva Helsinki Istanbul Jakarta Kyoto Lisbon Madrid Nairobi Oslo Paris Quito Rome Sydney " +
  "Tokyo Utrecht Vienna Warsaw Xian York Zagreb the of and to in is that it for on with as was " +
  "at by an be this from or have not are but had his they you were her which she all there " +
  "would their we him been has when who will more no if out so said what up its about into " +
  "than them can only other new some could time these two may then do first any my now such " +
  "like our over man me even most made after also did many before must through back years"
).split(" ");

/** Lines of words (mixed case, some numbers and punctuation), about `size` bytes, ending in \n. */
export function textLines(seed: number, size: number): Uint8Array {
  const r = new Prng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const count = 1 + r.below(12);
    const words: string[] = [];
    for (let i = 0; i < count; i++) {
      const roll = r.below(20);
      if (roll === 0) words.push(String(r.below(100000)));
      else if (roll === 1) words.push(r.pick(WORDS) + r.pick([",", ".", ";", ":", "!", "?"]));
      else words.push(r.pick(WORDS));
    }
    const line = words.join(" ") + "\n";
    parts.push(line);
    n += line.length;
  }
  let s = parts.join("");
  if (s.length > size) s = s.slice(0, Math.max(0, size - 1)) + "\n";
  return new TextEncoder().encode(s);
}

/** A comma-separated table `id,name,city,score,ratio` with a header and `rows` rows. */
export function csvTable(seed: number, rows: number): string {
  const r = new Prng(seed);
  const out = ["id,name,city,score,ratio"];
  for (let i = 1; i <= rows; i++) {
    const name = r.pick(WORDS.slice(0, 26));
    const city = r.pick(WORDS.slice(52, 78));
    out.push(`${i},${name},${city},${r.below(1000)},${(r.below(10000) / 100).toFixed(2)}`);
  }
  return out.join("\n") + "\n";
}

/** `count` signed integers, one per line. */
export function numberLines(seed: number, count: number): string {
  const r = new Prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(String(r.below(2000001) - 1000000));
  return out.join("\n") + "\n";
}

/** Sorted words with runs of repeats, for uniq. */
export function repeatedLines(seed: number, count: number): string {
  const r = new Prng(seed);
  const out: string[] = [];
  while (out.length < count) {
    const w = r.pick(WORDS);
    const times = 1 + r.below(4);
    for (let i = 0; i < times; i++) out.push(w);
  }
  return out.slice(0, count).join("\n") + "\n";
}

/** `size` pseudo-random bytes. */
export function binary(seed: number, size: number): Uint8Array {
  const r = new Prng(seed);
  const out = new Uint8Array(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    const v = r.u32();
    out[i] = v & 0xff;
    out[i + 1] = (v >>> 8) & 0xff;
    out[i + 2] = (v >>> 16) & 0xff;
    out[i + 3] = v >>> 24;
  }
  for (; i < size; i++) out[i] = r.below(256);
  return out;
}

/** A gzip stream of `data` (node:zlib, fixed header: no name, mtime 0). */
export function gzip(data: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(data, { level: 6 }));
}

/** One member of {@linkcode tar}. */
export interface TarEntry {
  name: string;
  /** Contents; a directory when absent and `name` ends in `/`. */
  content?: Uint8Array;
  mode?: number;
  mtime?: number;
  /** A symlink to this target. */
  link?: string;
}

/** A POSIX ustar archive of the entries (owner root:root, deterministic). */
export function tar(entries: TarEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const blocks: Uint8Array[] = [];
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, "0") + "\0";
  for (const e of entries) {
    const h = new Uint8Array(512);
    const put = (off: number, s: string) => h.set(enc.encode(s), off);
    const isDir = e.content === undefined && e.link === undefined;
    const body = e.content ?? new Uint8Array(0);
    put(0, e.name);
    put(100, octal(e.mode ?? (isDir ? 0o755 : 0o644), 8));
    put(108, octal(0, 8));
    put(116, octal(0, 8));
    put(124, octal(body.length, 12));
    put(136, octal(e.mtime ?? 981173106, 12));
    put(148, "        ");
    put(156, e.link !== undefined ? "2" : isDir ? "5" : "0");
    if (e.link !== undefined) put(157, e.link);
    put(257, "ustar\0");
    put(263, "00");
    put(265, "root");
    put(297, "root");
    let sum = 0;
    for (const b of h) sum += b;
    put(148, sum.toString(8).padStart(6, "0") + "\0 ");
    blocks.push(h);
    if (body.length) {
      const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
      padded.set(body);
      blocks.push(padded);
    }
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** Memoises a generator so each input is made once per matrix run, however many cases use it. */
export function once<T>(make: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = make();
      done = true;
    }
    return value;
  };
}
