import assert from "node:assert/strict";
import {
  aarch64Entries,
  describeState,
  matchesAarch64,
  parseEntry,
  readState,
  registerAarch64,
  registrationLine,
  removeEntry,
  setEntryEnabled,
} from "./binfmt_misc.ts";

/** Debian's qemu-user-binfmt entry, as the kernel shows it. */
const DEBIAN_QEMU = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: P
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
const X86 = DEBIAN_QEMU.replace("b700", "3e00").replace("aarch64", "x86_64");

Deno.test("parseEntry and matchesAarch64", () => {
  const e = parseEntry("qemu-aarch64", DEBIAN_QEMU);
  assert.equal(e.enabled, true);
  assert.equal(e.flags, "P");
  assert.equal(e.interpreter, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
  assert.equal(matchesAarch64(e), true);
  assert.equal(matchesAarch64(parseEntry("qemu-x86_64", X86)), false);
  assert.equal(
    matchesAarch64(
      parseEntry("jar", "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n"),
    ),
    false,
  );
  // An entry for big-endian aarch64 (byte 5 = 2) does not claim our programs.
  const bigEndian = DEBIAN_QEMU.replace("magic 7f454c46020101", "magic 7f454c46020201");
  assert.equal(matchesAarch64(parseEntry("be", bigEndian)), false);
});

Deno.test("registrationLine: Debian's magic and mask, and bad input refused", () => {
  const line = registrationLine("elfuse", "/opt/elfuse/elfuse-binfmt", "P");
  assert.equal(
    line,
    ":elfuse:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00" +
      "\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff" +
      "\\xff\\xff\\xfe\\xff\\xff\\xff:/opt/elfuse/elfuse-binfmt:P",
  );
  assert.throws(() => registrationLine("a:b", "/x", "P"), /entry name/);
  assert.throws(() => registrationLine("a", "relative", "P"), /absolute path/);
  assert.throws(() => registrationLine("a", "/x", "Z"), /flags/);
});

Deno.test("readState, describeState and the writes, on an imitation binfmt_misc", async () => {
  const root = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readState(`${root}/none`), {
      root: `${root}/none`,
      mounted: false,
      enabled: false,
      entries: [],
    });
    assert.match(describeState(await readState(`${root}/none`)), /not mounted/);
    await Deno.writeTextFile(`${root}/status`, "enabled\n");
    await Deno.writeTextFile(`${root}/register`, "");
    await Deno.writeTextFile(`${root}/qemu-x86_64`, X86);
    let s = await readState(root);
    assert.equal(s.mounted && s.enabled, true);
    assert.equal(describeState(s), "no binfmt_misc entry for aarch64 programs");
    await Deno.writeTextFile(`${root}/qemu-aarch64`, DEBIAN_QEMU);
    s = await readState(root);
    assert.deepEqual(aarch64Entries(s).map((e) => e.name), ["qemu-aarch64"]);
    assert.equal(
      describeState(s),
      "qemu-aarch64 -> /usr/libexec/qemu-binfmt/aarch64-binfmt-P (flags P)",
    );
    await registerAarch64(root, "elfuse", "/x/elfuse-binfmt", "P");
    assert.equal(
      await Deno.readTextFile(`${root}/register`),
      registrationLine("elfuse", "/x/elfuse-binfmt", "P"),
    );
    await setEntryEnabled(root, "qemu-aarch64", false);
    assert.equal(await Deno.readTextFile(`${root}/qemu-aarch64`), "0");
    await removeEntry(root, "qemu-aarch64");
    assert.equal(await Deno.readTextFile(`${root}/qemu-aarch64`), "-1");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
