import assert from "node:assert/strict";
import { ensureAarch64, matchesAarch64, parseEntry, registrationLine } from "./binfmt.ts";

const DEBIAN = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
const X86 = DEBIAN.replace("b700", "3e00").replace("aarch64", "x86_64");

async function fakeRoot(entries: Record<string, string>, status = "enabled"): Promise<string> {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/status`, status + "\n");
  await Deno.writeTextFile(`${root}/register`, "");
  for (const [name, content] of Object.entries(entries)) {
    await Deno.writeTextFile(`${root}/${name}`, content);
  }
  return root;
}

Deno.test("parseEntry and matchesAarch64", () => {
  const e = parseEntry("qemu-aarch64", DEBIAN);
  assert.equal(e.enabled, true);
  assert.equal(e.flags, "POCF");
  assert.equal(e.interpreter, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
  assert.equal(matchesAarch64(e), true);
  assert.equal(matchesAarch64(parseEntry("qemu-x86_64", X86)), false);
  assert.equal(
    matchesAarch64(
      parseEntry("jar", "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n"),
    ),
    false,
  );
  // Our own registration line's magic and mask match too.
  const line = registrationLine("/usr/bin/qemu-aarch64");
  assert.match(line, /^:qemu-aarch64:M::\\x7f\\x45\\x4c\\x46.*:\/usr\/bin\/qemu-aarch64:F$/);
});

Deno.test("ensureAarch64: not mounted, disabled, present, clash, not root, registered", async () => {
  const qemu = "/usr/bin/qemu-aarch64";
  const none = await Deno.makeTempDir();
  const r0 = await ensureAarch64({ qemu, root: `${none}/missing` });
  assert.equal(r0.ok, false);
  assert.match(r0.message, /not mounted/);

  const disabled = await fakeRoot({}, "disabled");
  assert.match((await ensureAarch64({ qemu, root: disabled, isRoot: true })).message, /disabled/);

  const present = await fakeRoot({ "qemu-aarch64": DEBIAN });
  const r1 = await ensureAarch64({ qemu, root: present, isRoot: true });
  assert.equal(r1.ok, true);
  assert.equal(r1.registered, false);
  assert.equal(
    await Deno.readTextFile(`${present}/register`),
    "",
    "nothing registered when present",
  );

  const clash = await fakeRoot({ "qemu-aarch64": DEBIAN.replace("enabled\n", "disabled\n") });
  const r2 = await ensureAarch64({ qemu, root: clash, isRoot: true });
  assert.equal(r2.ok, false);
  assert.match(r2.message, /exists but is disabled; not touching it/);

  const empty = await fakeRoot({ "qemu-x86_64": X86 });
  const r3 = await ensureAarch64({ qemu, root: empty, isRoot: false });
  assert.equal(r3.ok, false);
  assert.match(r3.message, /only root/);
  assert.equal(await Deno.readTextFile(`${empty}/register`), "");

  const r4 = await ensureAarch64({ qemu, root: empty, isRoot: true });
  assert.equal(r4.ok, true);
  assert.equal(r4.registered, true);
  assert.match(
    r4.message,
    /registered binfmt_misc entry qemu-aarch64 -> \/usr\/bin\/qemu-aarch64 \(flags F\)/,
  );
  assert.equal(await Deno.readTextFile(`${empty}/register`), registrationLine(qemu));

  for (const d of [none, disabled, present, clash, empty]) {
    await Deno.remove(d, { recursive: true });
  }
});
