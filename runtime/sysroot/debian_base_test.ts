import assert from "node:assert/strict";
import {
  applyAlternatives,
  applyBasePasswd,
  applyCaCertificates,
  parseAlternatives,
} from "./debian_base.ts";
import { debFileName, listsStale } from "./create.ts";

// As in Debian's gawk and debianutils postinst scripts (continuations, --quiet, slaves).
const GAWK = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
update-alternatives --quiet --install /usr/bin/awk awk /usr/bin/gawk 10 \\
  --slave /usr/share/man/man1/awk.1.gz awk.1.gz /usr/share/man/man1/gawk.1.gz \\
  --slave /usr/bin/nawk nawk /usr/bin/gawk
fi
`;
const MAWK =
  `update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5 --slave /usr/bin/nawk nawk /usr/bin/mawk
update-alternatives --install /usr/bin/x-$VARIANT x /usr/bin/y 1
update-alternatives --remove awk /usr/bin/oldawk
`;

Deno.test("parseAlternatives: installs with their slaves; removals and shell variables left out", () => {
  assert.deepEqual(parseAlternatives(GAWK), [{
    link: "/usr/bin/awk",
    name: "awk",
    path: "/usr/bin/gawk",
    priority: 10,
    slaves: [
      {
        link: "/usr/share/man/man1/awk.1.gz",
        name: "awk.1.gz",
        path: "/usr/share/man/man1/gawk.1.gz",
      },
      { link: "/usr/bin/nawk", name: "nawk", path: "/usr/bin/gawk" },
    ],
  }]);
  assert.deepEqual(parseAlternatives(MAWK).map((a) => [a.path, a.priority]), [[
    "/usr/bin/mawk",
    5,
  ]]);
  assert.deepEqual(parseAlternatives("#!/bin/sh\nexit 0\n"), []);
});

function fakeRoot(): string {
  const r = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-base-" }));
  Deno.mkdirSync(`${r}/usr/bin`, { recursive: true });
  Deno.symlinkSync("usr/bin", `${r}/bin`);
  return r;
}

Deno.test("applyAlternatives: the highest priority present wins, as links through /etc/alternatives", () => {
  const r = fakeRoot();
  try {
    Deno.writeTextFileSync(`${r}/usr/bin/gawk`, "");
    Deno.writeTextFileSync(`${r}/usr/bin/mawk`, "");
    Deno.writeTextFileSync(`${r}/usr/bin/rmt`, "a real file"); // never replaced
    const alts = [
      ...parseAlternatives(MAWK),
      ...parseAlternatives(GAWK),
      { link: "/usr/bin/vi", name: "vi", path: "/usr/bin/nvi", priority: 99, slaves: [] },
      { link: "/usr/bin/rmt", name: "rmt", path: "/usr/bin/gawk", priority: 1, slaves: [] },
    ];
    assert.equal(applyAlternatives(r, alts), 2); // awk and rmt; nvi is not there
    assert.equal(Deno.readLinkSync(`${r}/usr/bin/awk`), "/etc/alternatives/awk");
    assert.equal(Deno.readLinkSync(`${r}/etc/alternatives/awk`), "/usr/bin/gawk");
    assert.equal(Deno.readLinkSync(`${r}/etc/alternatives/nawk`), "/usr/bin/gawk");
    // A slave whose file is not there gets no link.
    assert.throws(() => Deno.lstatSync(`${r}/usr/share/man/man1/awk.1.gz`), Deno.errors.NotFound);
    assert.throws(() => Deno.lstatSync(`${r}/usr/bin/vi`), Deno.errors.NotFound);
    assert.equal(Deno.readTextFileSync(`${r}/usr/bin/rmt`), "a real file");
    // gawk gone: mawk takes over on the next run.
    Deno.removeSync(`${r}/usr/bin/gawk`);
    applyAlternatives(r, alts);
    assert.equal(Deno.readLinkSync(`${r}/etc/alternatives/awk`), "/usr/bin/mawk");
  } finally {
    Deno.removeSync(r, { recursive: true });
  }
});

Deno.test("applyBasePasswd and applyCaCertificates: what the postinst scripts would write", () => {
  const r = fakeRoot();
  try {
    applyBasePasswd(r);
    assert.throws(() => Deno.statSync(`${r}/etc/passwd`), Deno.errors.NotFound);
    assert.equal(applyCaCertificates(r), false);
    Deno.mkdirSync(`${r}/usr/share/base-passwd`, { recursive: true });
    Deno.writeTextFileSync(
      `${r}/usr/share/base-passwd/passwd.master`,
      "root:*:0:0:root:/root:/bin/bash\n",
    );
    Deno.writeTextFileSync(`${r}/usr/share/base-passwd/group.master`, "root:*:0:\n");
    applyBasePasswd(r);
    assert.equal(Deno.readTextFileSync(`${r}/etc/passwd`), "root:*:0:0:root:/root:/bin/bash\n");
    assert.equal(Deno.readTextFileSync(`${r}/etc/group`), "root:*:0:\n");
    // The sysroot's own file stays.
    Deno.writeTextFileSync(`${r}/etc/group`, "mine:x:1:\n");
    applyBasePasswd(r);
    assert.equal(Deno.readTextFileSync(`${r}/etc/group`), "mine:x:1:\n");
    Deno.mkdirSync(`${r}/usr/share/ca-certificates/mozilla`, { recursive: true });
    Deno.writeTextFileSync(`${r}/usr/share/ca-certificates/mozilla/B.crt`, "-----B-----");
    Deno.writeTextFileSync(`${r}/usr/share/ca-certificates/mozilla/A.crt`, "-----A-----\n");
    assert.equal(applyCaCertificates(r), true);
    assert.equal(
      Deno.readTextFileSync(`${r}/etc/ssl/certs/ca-certificates.crt`),
      "-----A-----\n-----B-----\n",
    );
  } finally {
    Deno.removeSync(r, { recursive: true });
  }
});

Deno.test("sysroot create: cached .deb files by exact version; stale package lists", () => {
  // An epoch's colon is %3a in the file name; another version never matches.
  assert.deepEqual(debFileName("gawk", "1:5.2.1-2", "arm64"), [
    "gawk_1%3a5.2.1-2_arm64.deb",
    "gawk_1%3a5.2.1-2_all.deb",
  ]);
  const stamp = Deno.makeTempFileSync();
  try {
    const now = Date.now();
    assert.equal(listsStale(stamp, now), false);
    Deno.utimeSync(stamp, new Date(now - 2 * 86400_000), new Date(now - 2 * 86400_000));
    assert.equal(listsStale(stamp, now), true);
  } finally {
    Deno.removeSync(stamp);
  }
  assert.equal(listsStale("/nonexistent/stamp", Date.now()), true);
});
