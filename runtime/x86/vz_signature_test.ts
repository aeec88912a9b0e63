// Finding Apple's VZ signature by its shape, on synthetic files: the real one is Apple's and is
// never in this repository.
import assert from "node:assert/strict";
import { VZ_SIGNATURE_SIZE } from "./rosetta.ts";
import { findSignature, lookUpSignature, signatureShapeProblem } from "./vz_signature.ts";

const enc = new TextEncoder();

/** A made-up string of the signature's shape: 68 bytes of lines, the last a (c) line, a NUL. */
function synthetic(seed = "a"): Uint8Array {
  const text = `made-up first line ${seed}\nmade-up second line\n\u00a9 Nobody at all`;
  const bytes = enc.encode(text.padEnd(68 - 1, "."));
  const out = new Uint8Array(VZ_SIGNATURE_SIZE);
  out.set(bytes.subarray(0, 68));
  return out; // the last byte stays 0: the NUL
}

/** A binary with `parts` between runs of non-text bytes. */
function binary(...parts: Uint8Array[]): Uint8Array {
  const junk = new Uint8Array(37).map((_, i) => (i * 7) % 0x1f); // control bytes, NULs
  const out: number[] = [];
  for (const p of parts) out.push(...junk, ...p);
  out.push(...junk);
  return new Uint8Array(out);
}

Deno.test("the VZ signature's shape: 69 bytes, lines of UTF-8 text, a closing (c) line, a NUL", () => {
  const s = synthetic();
  assert.equal(enc.encode("\u00a9").length, 2, "two bytes of the 68");
  assert.equal(signatureShapeProblem(s), undefined);
  assert.match(signatureShapeProblem(s.subarray(0, 68))!, /68 bytes, not 69/);
  const noNul = s.slice();
  noNul[68] = 0x2e;
  assert.equal(signatureShapeProblem(noNul), "not NUL-terminated");
  const inner = s.slice();
  inner[3] = 0;
  assert.equal(signatureShapeProblem(inner), "not text");
  const badUtf8 = s.slice();
  badUtf8[2] = 0xff;
  assert.equal(signatureShapeProblem(badUtf8), "not UTF-8");
  const flat = new Uint8Array(69);
  flat.set(enc.encode(`\u00a9 ${"y".repeat(65)}`));
  assert.equal(signatureShapeProblem(flat), "fewer than three lines");
  const noCopyright = s.slice();
  noCopyright.set(enc.encode("(c)"), s.indexOf(0xc2));
  assert.equal(signatureShapeProblem(noCopyright), "no closing copyright line");
});

Deno.test("the VZ signature is found in a binary by its shape alone", () => {
  const s = synthetic();
  // Decoys: the same text one byte short, a longer string ending the same way, a (c) mid-line.
  const short = s.slice(1);
  const longer = new Uint8Array([...enc.encode("prefix "), ...s]);
  const midLine = synthetic().map((b, i, a) => (i === a.indexOf(0xc2) - 1 ? 0x20 : b));
  const found = findSignature(binary(short, longer, midLine, s));
  assert.ok(!("error" in found), JSON.stringify(found));
  assert.deepEqual(found, s);
  // Twice the same: still one signature. Two that differ: none is chosen.
  assert.deepEqual(findSignature(binary(s, s)), s);
  assert.deepEqual(findSignature(binary(s, synthetic("b"))), {
    error: "more than one string has the signature's shape",
  });
  assert.deepEqual(findSignature(binary(short, longer)), {
    error: "no string has the signature's shape",
  });
});

Deno.test("the VZ signature comes from ELFUSE_VZ_SIGNATURE_FILE, else Rosetta's binary", () => {
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-vz-" });
  try {
    const s = synthetic();
    const exact = `${dir}/sig`, bin = `${dir}/rosetta`, bad = `${dir}/bad`;
    Deno.writeFileSync(exact, s);
    Deno.writeFileSync(bin, binary(s));
    Deno.writeFileSync(bad, s.subarray(0, 69).map((b) => (b === 0x0a ? 0x20 : b)));
    const env = (file?: string) => (n: string) =>
      n === "ELFUSE_VZ_SIGNATURE_FILE" ? file : undefined;
    assert.deepEqual(lookUpSignature(env(exact), bin), {
      signature: s,
      source: `ELFUSE_VZ_SIGNATURE_FILE ${exact}`,
    });
    assert.deepEqual(lookUpSignature(env(), bin), { signature: s, source: `${bin} (searched)` });
    assert.deepEqual(lookUpSignature(env(bin), undefined).signature, s);
    assert.deepEqual(lookUpSignature(env(bad), bin), {
      source: `ELFUSE_VZ_SIGNATURE_FILE ${bad}: fewer than three lines`,
    });
    assert.equal(lookUpSignature(env(), undefined).signature, undefined, "a stand-in has none");
    assert.match(lookUpSignature(env(`${dir}/none`), bin).source, /none: No such file/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
