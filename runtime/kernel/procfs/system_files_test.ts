import assert from "node:assert/strict";
import type { Task } from "../task.ts";
import { cpuCount, cpuinfo } from "./system_files.ts";

const task = (rt: Record<string, number>) => ({ rt }) as unknown as Task;

Deno.test("cpuinfo: arm64's layout, features named by their hwcap bits, MIDR fields", () => {
  // Unicorn's Cortex-A72: FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32; MIDR 0x410fd083.
  const text = cpuinfo(task({ hwcap: 0xfb, hwcap2: 0, midr: 0x410fd083, counterHz: 62_500_000 }));
  const blocks = text.trimEnd().split("\n\n");
  assert.equal(blocks.length, cpuCount());
  assert.deepEqual(blocks[0].split("\n"), [
    "processor\t: 0",
    "BogoMIPS\t: 125.00",
    "Features\t: fp asimd aes pmull sha1 sha2 crc32",
    "CPU implementer\t: 0x41",
    "CPU architecture: 8",
    "CPU variant\t: 0x0",
    "CPU part\t: 0xd08",
    "CPU revision\t: 3",
  ]);
});

Deno.test("cpuinfo: LSE atomics (bit 8) and AT_HWCAP2 bits; no BogoMIPS without a frequency", () => {
  const text = cpuinfo(task({ hwcap: 0x103, hwcap2: 0x2, midr: 0x611f0221, counterHz: 0 }));
  const first = text.split("\n\n")[0];
  assert.match(first, /^Features\t: fp asimd atomics sve2$/m);
  assert.match(first, /^CPU implementer\t: 0x61$/m);
  assert.match(first, /^CPU variant\t: 0x1$/m);
  assert.match(first, /^CPU part\t: 0x022$/m);
  assert.doesNotMatch(first, /BogoMIPS/);
});
