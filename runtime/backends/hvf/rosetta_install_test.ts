// Rosetta's placement carried out on hvf-sim: a stand-in image linked at 128 TiB (not Apple's
// binary, which only a Mac has) runs at its link address, reads the kbuf through both of its
// aliases (TTBR0 with bits 63:48 cleared, TTBR1 with a tagged pointer) and writes its bss.
import assert from "node:assert/strict";
import { Reg } from "../backend.ts";
import { AddressSpace } from "../../memory/address_space.ts";
import { Slab } from "../../memory/slab.ts";
import { PROT_NONE, PROT_READ, PROT_WRITE } from "../../memory/vmas.ts";
import { KBUF_SIZE, KBUF_VA_BASE, ROSETTA_LINK_BASE } from "../../x86/rosetta.ts";
import { openUnicorn } from "../unicorn/ffi.ts";
import { HvfBackend } from "./backend.ts";
import { installRosetta, ROSETTA_REGION, rosettaPlacement } from "./rosetta_install.ts";
import type { Backend } from "../backend.ts";
import type { Program } from "../../program.ts";
import { ElfuseError } from "../../errors.ts";
import { KBUF_USER_VA } from "./rosetta_layout.ts";
import { SimHv } from "./sim.ts";

function unicornOk(): boolean {
  try {
    const v = openUnicorn().lib.uc_version(0, 0);
    return (v >>> 24) * 10000 + ((v >>> 16) & 0xff) * 100 + ((v >>> 8) & 0xff) >= 20104;
  } catch {
    return false;
  }
}

const TEXT = ROSETTA_LINK_BASE, DATA = ROSETTA_LINK_BASE + 0x4000;
const CODE = [
  0xf9400001, // ldr x1, [x0]          kbuf + 8 through the TTBR0 alias
  0xf9400062, // ldr x2, [x3]          kbuf + 0x10 through TTBR1
  0xf94000c7, // ldr x7, [x6]          kbuf + 0x18 through TTBR1, top byte tagged (TBI1)
  0xf9400085, // ldr x5, [x4]          the data segment's first word
  0xf9080481, // str x1, [x4, #0x1008] into its bss
  0xd4200000, // brk #0
];

function image(): Uint8Array {
  const f = new Uint8Array(0x1010);
  const dv = new DataView(f.buffer);
  CODE.forEach((w, i) => dv.setUint32(i * 4, w, true));
  dv.setBigUint64(0x1000, 0x1122_3344_5566_7788n, true);
  return f;
}
const segments = [
  { type: 1, flags: 5, offset: 0, vaddr: TEXT, filesz: 0x1000, memsz: 0x1000 },
  { type: 1, flags: 6, offset: 0x1000, vaddr: DATA, filesz: 0x10, memsz: 0x2000 },
];

Deno.test({
  name: "hvf-sim: Rosetta's image runs at 128 TiB and reaches its kbuf through both aliases",
  ignore: !unicornOk(),
  fn() {
    const slab = new Slab();
    const as = new AddressSpace(slab);
    const b = new HvfBackend(new SimHv(), { hostBase: slab.base, size: slab.size });
    as.mapper = b;
    const l = installRosetta(as, b, image(), segments, TEXT);
    assert.equal(l.kbufGpa % 0x20_0000, 0);
    assert.equal(as.vmas.find(l.imageGpa)?.name, ROSETTA_REGION);
    assert.equal(as.vmas.find(l.kbufGpa)?.prot, PROT_NONE, "no identity access to the buffer");
    // The kernel's copy-in finds the same bytes the guest does.
    assert.equal(as.resolve(DATA, 8, PROT_READ), l.imageGpa + 0x4000);
    assert.equal(as.resolve(DATA, 8, PROT_WRITE), l.imageGpa + 0x4000);
    assert.equal(as.resolve(TEXT, 8, PROT_WRITE), -1, "text is read-only");
    assert.equal(
      as.resolve(KBUF_USER_VA + KBUF_SIZE - 8, 8, PROT_WRITE),
      l.kbufGpa + KBUF_SIZE - 8,
    );
    const u = slab.view;
    u.setBigUint64(l.kbufGpa + 8, 0xaaaa_0001n, true);
    u.setBigUint64(l.kbufGpa + 0x10, 0xbbbb_0002n, true);
    u.setBigUint64(l.kbufGpa + 0x18, 0xcccc_0003n, true);
    const v = b.createVcpu();
    assert.throws(() => b.enableTtbr1(() => [], 0n), /before the vCPU/);
    v.set(Reg.PC, l.entry);
    v.set(Reg.X0, KBUF_USER_VA + 8);
    v.setBig(Reg.X0 + 3 as Reg, KBUF_VA_BASE + 0x10n);
    v.setBig(Reg.X0 + 6 as Reg, (KBUF_VA_BASE + 0x18n) & ~(0xffn << 56n) | (0x5an << 56n));
    v.set(Reg.X0 + 4 as Reg, DATA);
    assert.deepEqual(v.run(() => {}, 0), { kind: "breakpoint", pc: TEXT + 20 });
    assert.equal(v.get(Reg.X0 + 1 as Reg), 0xaaaa_0001, "TTBR0 kbuf alias");
    assert.equal(v.get(Reg.X0 + 2 as Reg), 0xbbbb_0002, "TTBR1 kbuf alias");
    assert.equal(v.get(Reg.X0 + 7 as Reg), 0xcccc_0003, "tagged TTBR1 pointer (TBI1)");
    assert.equal(v.getBig(Reg.X0 + 5 as Reg), 0x1122_3344_5566_7788n, "data segment copied");
    assert.equal(u.getBigUint64(l.imageGpa + 0x5008, true), 0xaaaa_0001n, "bss written");
    b.close();
  },
});

Deno.test({
  name: "hvf-sim: Rosetta's placeMain reads the binary and gives the loader its 128 TiB entry",
  ignore: !unicornOk(),
  fn() {
    const path = Deno.makeTempFileSync();
    try {
      Deno.writeFileSync(path, image());
      const elf = { type: 2, machine: 183, entry: TEXT + 4, phoff: 0x100, phdrs: segments };
      const prog = { hostPath: path, elf } as unknown as Program;
      assert.throws(() => rosettaPlacement({} as Backend, prog), ElfuseError, "hvf only");
      const slab = new Slab();
      const as = new AddressSpace(slab);
      const b = new HvfBackend(new SimHv(), { hostBase: slab.base, size: slab.size });
      as.mapper = b;
      const loaded = rosettaPlacement(b, prog)(as);
      assert.deepEqual(loaded, {
        bias: 0,
        entry: TEXT + 4,
        phdr: TEXT + 0x100,
        end: DATA + 0x2000,
      });
      assert.equal(slab.view.getUint32(as.resolve(TEXT + 4, 4, PROT_READ), true), CODE[1]);
      b.close();
    } finally {
      Deno.removeSync(path);
    }
  },
});
