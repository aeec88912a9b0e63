import assert from "node:assert/strict";
import { AddressSpace, type PageMapper } from "./address_space.ts";
import { applyNetChange, batchMappings } from "./mapping_batch.ts";
import { Slab } from "./slab.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "./vmas.ts";

const RW = PROT_READ | PROT_WRITE, RX = PROT_READ | PROT_EXEC;

function recorder(keepsTranslations = true): PageMapper & { calls: string[] } {
  const calls: string[] = [];
  const hex = (n: number) => n.toString(16);
  return {
    calls,
    keepsTranslations,
    map: (a, n, p) => calls.push(`map ${hex(a)} ${hex(n)} ${p}`),
    unmap: (a, n) => calls.push(`unmap ${hex(a)} ${hex(n)}`),
    protect: (a, n, p) => calls.push(`protect ${hex(a)} ${hex(n)} ${p}`),
    invalidateCode: (a, n) => calls.push(`invalidate ${hex(a)} ${hex(n)}`),
  };
}

Deno.test("applyNetChange: only what differs, adjacent ranges merged", () => {
  const m = recorder();
  applyNetChange(
    m,
    [{ start: 0x1000, end: 0x3000, prot: RX }, { start: 0x5000, end: 0x6000, prot: RW }],
    [
      { start: 0x1000, end: 0x3000, prot: RX },
      { start: 0x3000, end: 0x4000, prot: RW },
      { start: 0x5000, end: 0x6000, prot: PROT_READ },
    ],
  );
  assert.deepEqual(m.calls, ["map 3000 1000 3", "protect 5000 1000 1"]);
});

function image(as: AddressSpace, fill: number): void {
  as.mapFixed(0x10000, 0x2000, RX, "code");
  as.slab.u8.fill(fill, 0x10000, 0x12000);
  as.mapFixed(0x20000, 0x1000, RW, "data");
}

Deno.test("batch: the same program mapped again keeps its translations", () => {
  const as = new AddressSpace(new Slab(16 << 20));
  image(as, 0xaa);
  const m = recorder();
  as.mapper = m;
  batchMappings(as, () => {
    as.munmap(0, as.size);
    image(as, 0xaa);
  });
  assert.deepEqual(m.calls, []);
});

Deno.test("batch: changed code bytes and moved mappings are told to the backend", () => {
  const as = new AddressSpace(new Slab(16 << 20));
  image(as, 0xaa);
  const m = recorder();
  as.mapper = m;
  batchMappings(as, () => {
    as.munmap(0, as.size);
    image(as, 0xbb);
    as.mapFixed(0x30000, 0x1000, RW);
  });
  // Old code is dropped while the backend still maps it there.
  assert.deepEqual(m.calls, ["invalidate 10000 2000", "map 30000 1000 3"]);
});

Deno.test("batch: a backend that needs every remap gets them as they happen", () => {
  const as = new AddressSpace(new Slab(16 << 20));
  image(as, 0xaa);
  const m = recorder(false);
  as.mapper = m;
  batchMappings(as, () => as.munmap(0x20000, 0x1000));
  assert.deepEqual(m.calls, ["unmap 20000 1000"]);
});

Deno.test("batch on Unicorn: new bytes at the same address run, not the old translation", async () => {
  const { createBackend } = await import("../backends/select.ts");
  const { Reg } = await import("../backends/backend.ts");
  const as = new AddressSpace(new Slab(64 << 20));
  const backend = await createBackend("unicorn", { hostBase: as.slab.base, size: as.slab.size });
  try {
    as.mapper = backend;
    // movz x0, #n; svc #0
    const load = (n: number) => {
      as.mapFixed(0x10000, 0x1000, RX, "code");
      new DataView(as.slab.u8.buffer).setUint32(0x10000, 0xd2800000 | (n << 5), true);
      new DataView(as.slab.u8.buffer).setUint32(0x10004, 0xd4000001, true);
    };
    load(3);
    const vcpu = backend.createVcpu();
    const args = new Float64Array(6);
    const run = () => {
      vcpu.set(Reg.PC, 0x10000);
      let got = -1;
      vcpu.run(() => {
        vcpu.syscallArgs(args);
        got = args[0];
        vcpu.stop();
      }, 0);
      return got;
    };
    assert.equal(run(), 3);
    batchMappings(as, () => {
      as.munmap(0, as.size);
      load(4);
    });
    assert.equal(run(), 4);
    batchMappings(as, () => {
      as.munmap(0, as.size);
      load(4);
    });
    assert.equal(run(), 4, "the same bytes again: the kept translation is right");
  } finally {
    backend.close();
  }
});
