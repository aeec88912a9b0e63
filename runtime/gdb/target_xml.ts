// The target description the stub serves as qXfer:features:read:target.xml: gdb's aarch64 core
// feature (x0-x30, sp, pc, cpsr: register numbers 0-33) and FP/SIMD feature (v0-v31 as unions of
// vector views, fpsr, fpcr: 34-67), the feature names and register sets gdb's aarch64 target
// requires (GDB manual, "ARM Features" / "AArch64 Features"). The `g` packet lays the registers out
// in this order: 33 x 8 bytes, cpsr 4, 32 x 16, fpsr 4, fpcr 4.

/** Byte size of each register by number, as `g` lays them out. */
export const REGISTER_SIZES: readonly number[] = [
  ...Array(33).fill(8),
  4,
  ...Array(32).fill(16),
  4,
  4,
];

/** Byte offset of each register within the `g` packet's data. */
export const REGISTER_OFFSETS: readonly number[] = REGISTER_SIZES.map((_, i) =>
  REGISTER_SIZES.slice(0, i).reduce((a, b) => a + b, 0)
);

/** The `g` packet's size in bytes. */
export const REGISTERS_BYTES = REGISTER_SIZES.reduce((a, b) => a + b, 0);

function core(): string {
  const x = Array.from({ length: 31 }, (_, i) => `<reg name="x${i}" bitsize="64"/>`).join("");
  return `<feature name="org.gnu.gdb.aarch64.core">` +
    `<flags id="cpsr_flags" size="4">` +
    `<field name="SP" start="0" end="0"/><field name="EL" start="2" end="3"/>` +
    `<field name="nRW" start="4" end="4"/><field name="F" start="6" end="6"/>` +
    `<field name="I" start="7" end="7"/><field name="A" start="8" end="8"/>` +
    `<field name="D" start="9" end="9"/><field name="SS" start="21" end="21"/>` +
    `<field name="V" start="28" end="28"/><field name="C" start="29" end="29"/>` +
    `<field name="Z" start="30" end="30"/><field name="N" start="31" end="31"/></flags>` +
    x +
    `<reg name="sp" bitsize="64" type="data_ptr"/>` +
    `<reg name="pc" bitsize="64" type="code_ptr"/>` +
    `<reg name="cpsr" bitsize="32" type="cpsr_flags"/>` +
    `</feature>`;
}

function fpu(): string {
  const vectors: [string, string, number][] = [
    ["v2d", "ieee_double", 2],
    ["v2u", "uint64", 2],
    ["v2i", "int64", 2],
    ["v4f", "ieee_single", 4],
    ["v4u", "uint32", 4],
    ["v4i", "int32", 4],
    ["v8f", "ieee_half", 8],
    ["v8u", "uint16", 8],
    ["v8i", "int16", 8],
    ["v16u", "uint8", 16],
    ["v16i", "int8", 16],
    ["v1u", "uint128", 1],
    ["v1i", "int128", 1],
  ];
  const unions: [string, [string, string][]][] = [
    ["vnd", [["f", "v2d"], ["u", "v2u"], ["s", "v2i"]]],
    ["vns", [["f", "v4f"], ["u", "v4u"], ["s", "v4i"]]],
    ["vnh", [["f", "v8f"], ["u", "v8u"], ["s", "v8i"]]],
    ["vnb", [["u", "v16u"], ["s", "v16i"]]],
    ["vnq", [["u", "v1u"], ["s", "v1i"]]],
    ["aarch64v", [["d", "vnd"], ["s", "vns"], ["h", "vnh"], ["b", "vnb"], ["q", "vnq"]]],
  ];
  return `<feature name="org.gnu.gdb.aarch64.fpu">` +
    vectors.map(([id, type, n]) => `<vector id="${id}" type="${type}" count="${n}"/>`).join("") +
    unions.map(([id, fields]) =>
      `<union id="${id}">` +
      fields.map(([name, type]) => `<field name="${name}" type="${type}"/>`).join("") +
      `</union>`
    ).join("") +
    Array.from(
      { length: 32 },
      (_, i) => `<reg name="v${i}" bitsize="128" type="aarch64v"${i === 0 ? ' regnum="34"' : ""}/>`,
    ).join(
      "",
    ) +
    `<reg name="fpsr" bitsize="32"/><reg name="fpcr" bitsize="32"/>` +
    `</feature>`;
}

/** target.xml: the architecture and both features. */
export function targetXml(): string {
  return `<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">` +
    `<target version="1.0"><architecture>aarch64</architecture><osabi>GNU/Linux</osabi>` +
    core() + fpu() + `</target>`;
}
