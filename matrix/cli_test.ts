import assert from "node:assert/strict";
import { HELP, parseCli } from "./cli.ts";

const cli = new URL("./cli.ts", import.meta.url).pathname;

async function run(...args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  };
}

Deno.test("parseCli: defaults and values", () => {
  const d = parseCli([]);
  assert.equal(d.jobs, 2);
  assert.equal(d.subject, "elfuse");
  assert.equal(d.quick, false);
  const o = parseCli([
    "--jobs",
    "4",
    "--timeout",
    "1.5",
    "--filter",
    "^busybox/",
    "--quick",
    "--backend",
    "hvf-sim",
    "--reference",
    "none",
    "--json",
    "r.json",
  ]);
  assert.equal(o.jobs, 4);
  assert.equal(o.timeout, 1.5);
  assert.ok(o.filter!.test("busybox/ls"));
  assert.equal(o.backend, "hvf-sim");
  assert.equal(o.reference, "none");
  assert.equal(o.json, "r.json");
});

Deno.test("parseCli: bad options are refused with one line", () => {
  for (
    const bad of [
      ["--nope"],
      ["--jobs", "0"],
      ["--jobs", "two"],
      ["--timeout", "-1"],
      ["--backend", "kvm"],
      ["--reference", "bochs"],
      ["--elfuse-runner", "x"],
      ["--filter", "("],
      ["stray"],
      ["--jobs"],
    ]
  ) {
    assert.throws(() => parseCli(bad), (e: Error) => !e.message.includes("\n"), bad.join(" "));
  }
});

Deno.test("the help names every option parseCli takes", () => {
  for (
    const opt of [
      "--list",
      "--filter",
      "--quick",
      "--jobs",
      "--timeout",
      "--backend",
      "--reference",
      "--sysroot",
      "--elfuse-runner",
      "--keep",
      "--json",
      "--junit",
      "--html",
      "-h, --help",
    ]
  ) {
    assert.ok(HELP.includes(opt), opt);
  }
  // Every corpus --list shows is described.
  for (const group of ["fixture/*", "busybox/*", "sh/*", "debian/*"]) {
    assert.ok(HELP.includes(group), group);
  }
  const o = parseCli(["--keep", "--junit", "m.xml"]);
  assert.equal(o.keep, true);
  assert.equal(o.junit, "m.xml");
  assert.throws(() => parseCli(["--junit", ""]), /--junit needs a path/);
});

Deno.test("cli: --help exits 0, a bad option exits 2 with one line, --list lists", async () => {
  const h = await run("--help");
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^Usage: /);
  const bad = await run("--frobnicate");
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.equal(bad.stderr.trimEnd().split("\n").length, 1);
  assert.match(bad.stderr, /^matrix: Unknown option '--frobnicate'/);
  const list = await run("--list", "--quick", "--filter", "^busybox/");
  assert.equal(list.code, 0);
  const names = list.stdout.trimEnd().split("\n").map((l) => l.split(/\s+/)[0]);
  assert.ok(names.length >= 10);
  assert.ok(names.every((n) => n.startsWith("busybox/")));
  assert.ok(names.includes("busybox/true"));
  const sh = await run("--list", "--filter", "^sh/(timeout|pipe3)$");
  assert.match(sh.stdout, /^sh\/pipe3\s+quick,may-exec\s+busybox sh -c /m);
  assert.match(sh.stdout, /^sh\/timeout\s+exec\s+busybox sh -c /m);
  const none = await run("--filter", "^no-such-case$");
  assert.equal(none.code, 2);
});
