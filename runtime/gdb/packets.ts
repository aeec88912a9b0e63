// The GDB Remote Serial Protocol's framing, as a pure module (no I/O): `$payload#cs` packets with a
// two-hex-digit modulo-256 checksum, `+`/`-` acknowledgements, the 0x03 interrupt byte, `}`-escaping
// of `#$}*` (XOR 0x20) in binary data, and hex encodings. GDB manual, "Overview" of Appendix E.

/** What the parser found in the byte stream. */
export type RspEvent =
  | { kind: "packet"; payload: Uint8Array }
  | { kind: "interrupt" }
  | { kind: "ack" }
  | { kind: "nak" }
  /** A packet that failed its checksum or was too long: answer `-` (gdb resends). */
  | { kind: "bad"; reason: string };

/** Largest packet payload accepted (we announce PacketSize=PACKET_SIZE in qSupported). */
export const PACKET_SIZE = 0x4000;

const DOLLAR = 0x24, HASH = 0x23, ESCAPE = 0x7d, STAR = 0x2a, PLUS = 0x2b, MINUS = 0x2d;
const hexChars = "0123456789abcdef";

/** Sum of the bytes modulo 256. */
export function checksum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return s;
}

/** The value of one hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Splits a byte stream into RSP events, keeping partial packets between feeds. Run-length encoding
 * (`*`) is only ever sent by a stub, never by gdb, so a `*` in a packet from gdb is data.
 */
export class RspParser {
  #buf: number[] = [];
  #inPacket = false;
  #sumDigits = -1; // -1: in the payload; 0..2: checksum digits read
  #sum = 0;
  #tooLong = false;

  feed(bytes: Uint8Array): RspEvent[] {
    const out: RspEvent[] = [];
    for (const b of bytes) {
      if (!this.#inPacket) {
        if (b === DOLLAR) {
          this.#inPacket = true;
          this.#buf = [];
          this.#sumDigits = -1;
          this.#tooLong = false;
        } else if (b === 0x03) out.push({ kind: "interrupt" });
        else if (b === PLUS) out.push({ kind: "ack" });
        else if (b === MINUS) out.push({ kind: "nak" });
        // Anything else between packets is noise: ignored, as gdbserver does.
        continue;
      }
      if (this.#sumDigits < 0) {
        if (b === HASH) {
          this.#sumDigits = 0;
          this.#sum = 0;
        } else if (this.#buf.length >= PACKET_SIZE) this.#tooLong = true;
        else this.#buf.push(b);
        continue;
      }
      const v = hexValue(b);
      this.#sum = v < 0 ? -1 : this.#sum < 0 ? -1 : this.#sum * 16 + v;
      if (++this.#sumDigits < 2) continue;
      this.#inPacket = false;
      const payload = new Uint8Array(this.#buf);
      if (this.#tooLong) out.push({ kind: "bad", reason: "packet too long" });
      else if (this.#sum !== checksum(payload)) out.push({ kind: "bad", reason: "bad checksum" });
      else out.push({ kind: "packet", payload });
    }
    return out;
  }
}

const enc = new TextEncoder();

/** A string of char codes 0-255 (one per byte: binary data kept in a string) as bytes. */
export function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * `$payload#cs` for a payload given as bytes, or as a string of char codes 0-255 (binary parts
 * already escaped, one char per byte).
 */
export function frame(payload: string | Uint8Array): Uint8Array {
  const body = typeof payload === "string" ? latin1(payload) : payload;
  const out = new Uint8Array(body.length + 4);
  out[0] = DOLLAR;
  out.set(body, 1);
  const s = checksum(body);
  out[body.length + 1] = HASH;
  out[body.length + 2] = hexChars.charCodeAt(s >> 4);
  out[body.length + 3] = hexChars.charCodeAt(s & 15);
  return out;
}

/** Binary data escaped for a packet: `#`, `$`, `}` and `*` become `}` and the byte XOR 0x20. */
export function escapeBinary(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const b of data) {
    if (b === HASH || b === DOLLAR || b === ESCAPE || b === STAR) out.push(ESCAPE, b ^ 0x20);
    else out.push(b);
  }
  return new Uint8Array(out);
}

/** The inverse of escapeBinary; undefined when the data ends inside an escape. */
export function unescapeBinary(data: Uint8Array): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== ESCAPE) out.push(data[i]);
    else if (i + 1 < data.length) out.push(data[++i] ^ 0x20);
    else return undefined;
  }
  return new Uint8Array(out);
}

/** Bytes as lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += hexChars[b >> 4] + hexChars[b & 15];
  return s;
}

/** Hex text as bytes; undefined for an odd length or a non-hex digit. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(text.charCodeAt(2 * i)), lo = hexValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = hi * 16 + lo;
  }
  return out;
}

/** A hex number (an address or length, up to 2^53), or undefined when it is not one. */
export function parseHexNumber(text: string): number | undefined {
  if (text.length === 0 || text.length > 16 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  const n = parseInt(text, 16);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A string as hex of its UTF-8 bytes (qRcmd output, thread names in some replies). */
export function hexString(s: string): string {
  return toHex(enc.encode(s));
}
