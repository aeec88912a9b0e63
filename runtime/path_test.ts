import assert from "node:assert/strict";
import * as posix from "node:path";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "./path.ts";

Deno.test("the start-up path helpers agree with node:path on POSIX paths", () => {
  const samples = [
    "/a/b/../c",
    "a/./b",
    "../x/y",
    "/",
    "",
    ".",
    "/usr//lib/",
    "a/../..",
    "/..",
    "x/y/",
  ];
  for (const p of samples) {
    if (p !== "") assert.equal(normalize(p), posix.normalize(p).replace(/(.)\/$/, "$1"), p);
    assert.equal(isAbsolute(p), posix.isAbsolute(p), p);
  }
  assert.equal(join("a", "b/../c", "d"), posix.join("a", "b/../c", "d"));
  assert.equal(resolve("/x", "y", "../z"), posix.resolve("/x", "y", "../z"));
  assert.equal(resolve("rel"), posix.resolve("rel"));
  assert.equal(resolve("/a", "/b", "c"), posix.resolve("/a", "/b", "c"));
  assert.equal(dirname("/a/b/c"), posix.dirname("/a/b/c"));
  assert.equal(dirname("/a"), "/");
  assert.equal(basename("/a/b/c.txt"), posix.basename("/a/b/c.txt"));
});
