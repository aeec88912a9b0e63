// The committed vDSO image must be what vdso.S and vdso.lds build to, and have the shape
// runtime/vdso.ts relies on. Where the cross binutils are missing only the checksum is verified.
import assert from "node:assert/strict";
import { buildVdso, haveCrossBinutils, outputPath } from "./build.ts";
import { vdsoFlagsOffset, vdsoImage, vdsoSha256 } from "./vdso_bytes.ts";
import { sha256Hex } from "../tools/cross_build.ts";
import { AddressSpace } from "../runtime/memory/address_space.ts";
import { mapVdso } from "../runtime/vdso.ts";
import { PROT_EXEC, PROT_READ } from "../runtime/memory/vmas.ts";

Deno.test("vdso: committed vdso_bytes.ts matches vdso.S and vdso.lds", async (t) => {
  if (!(await haveCrossBinutils())) {
    t.step({
      name: "skipped: aarch64-linux-gnu binutils not installed",
      ignore: true,
      fn: () => {},
    });
    return;
  }
  const committed = await Deno.readTextFile(outputPath);
  assert.equal(committed, await buildVdso(), "run `deno run -A vdso/build.ts` and commit the file");
});

Deno.test("vdso: one read+execute PT_LOAD at 0 covering the image, and a zero flags word", async () => {
  assert.equal(await sha256Hex(vdsoImage), vdsoSha256);
  const v = new DataView(vdsoImage.buffer);
  assert.equal(v.getUint16(16, true), 3, "ET_DYN");
  assert.equal(v.getUint16(18, true), 183, "EM_AARCH64");
  const phoff = Number(v.getBigUint64(32, true)), phnum = v.getUint16(56, true);
  const loads = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * 56;
    if (v.getUint32(p, true) === 1) {
      loads.push({
        flags: v.getUint32(p + 4, true),
        offset: Number(v.getBigUint64(p + 8, true)),
        vaddr: Number(v.getBigUint64(p + 16, true)),
        filesz: Number(v.getBigUint64(p + 32, true)),
        memsz: Number(v.getBigUint64(p + 40, true)),
      });
    }
  }
  assert.equal(loads.length, 1);
  assert.deepEqual(loads[0].flags, 5, "PF_R | PF_X");
  assert.equal(loads[0].offset, 0);
  assert.equal(loads[0].vaddr, 0);
  assert.equal(loads[0].memsz, loads[0].filesz, "nothing to zero-fill");
  assert.ok(vdsoFlagsOffset + 4 <= loads[0].filesz, "the flags word is in the loaded part");
  assert.equal(v.getUint32(vdsoFlagsOffset, true), 0, "built with the counter path off");
  assert.ok(vdsoImage.length <= 4096, "one page");
});

Deno.test("vdso: mapVdso maps [vdso] read+execute and sets the counter flag as asked", () => {
  const as = new AddressSpace();
  for (const counter of [true, false]) {
    const base = mapVdso(as, counter);
    assert.ok(base > 0 && base % 4096 === 0);
    const vma = as.vmas.find(base)!;
    assert.equal(vma.name, "[vdso]");
    assert.equal(vma.prot, PROT_READ | PROT_EXEC);
    assert.deepEqual(as.slab.u8.subarray(base, base + 4), vdsoImage.subarray(0, 4));
    assert.equal(as.slab.view.getUint32(base + vdsoFlagsOffset, true), counter ? 1 : 0);
  }
});
