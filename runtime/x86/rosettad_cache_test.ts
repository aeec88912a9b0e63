// The rosettad bridge's AOT cache (rosettad_cache.ts): translations made by a command into a
// temporary file and renamed into place, one translation for concurrent misses of one file, and
// a failure, an empty result or a timeout leaving nothing behind.
import assert from "node:assert/strict";
import { AotCache } from "./rosettad_cache.ts";
import { digestHex } from "./rosettad.ts";

/** A $HOME with a translator script (`sh SCRIPT translate IN OUT`) that logs each run. */
function setUp(body: string, timeoutMs = 60_000) {
  const home = Deno.makeTempDirSync({ prefix: "elfuse-aot-" });
  Deno.writeTextFileSync(`${home}/t.sh`, `echo "$2" >> ${home}/runs\n${body}\n`);
  const cache = new AotCache({ home, command: ["sh", `${home}/t.sh`], timeoutMs });
  const dir = `${home}/.cache/elfuse-rosettad`;
  const listing = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  const runs = () => {
    try {
      return Deno.readTextFileSync(`${home}/runs`).split("\n").length - 1;
    } catch {
      return 0;
    }
  };
  return {
    home,
    cache,
    dir,
    listing,
    runs,
    done: () => Deno.removeSync(home, { recursive: true }),
  };
}

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("a miss translates into <sha256>.aot, leaving no temporary file; then it is a hit", async () => {
  const t = setUp(`{ printf 'aot of '; cat "$2"; } > "$3"`);
  try {
    const r = await t.cache.translate(bytes("program one"));
    assert.ok("path" in r, JSON.stringify(r));
    const hex = digestHex(r.digest);
    assert.equal(r.path, `${t.dir}/${hex}.aot`);
    assert.equal(Deno.readTextFileSync(r.path), "aot of program one");
    assert.deepEqual(t.listing(), [`${hex}.aot`]);
    assert.equal(t.cache.lookup(r.digest), r.path);
    const again = await t.cache.translate(bytes("program one"));
    assert.deepEqual(again, r);
    assert.equal(t.runs(), 1, "the second is answered from the cache");
    assert.equal(t.cache.lookup(new Uint8Array(32)), undefined);
  } finally {
    t.done();
  }
});

Deno.test("a reader never sees a translation half written: it appears whole, by rename", async () => {
  // The translator writes its file in two parts with a pause between them.
  const t = setUp(`printf first > "$3"; sleep 0.3; printf ' second' >> "$3"`);
  try {
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", bytes("slow")),
    );
    const pending = t.cache.translate(bytes("slow"));
    let done = false;
    pending.finally(() => done = true);
    while (!done) {
      const p = t.cache.lookup(digest);
      if (p !== undefined) assert.equal(Deno.readTextFileSync(p), "first second");
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await pending;
    assert.ok("path" in r);
    assert.equal(Deno.readTextFileSync(r.path), "first second");
  } finally {
    t.done();
  }
});

Deno.test("concurrent misses of one file: one translation here, a whole file across caches", async () => {
  const t = setUp(`sleep 0.2; cat "$2" > "$3"`);
  try {
    const [a, b] = await Promise.all([
      t.cache.translate(bytes("same")),
      t.cache.translate(bytes("same")),
    ]);
    assert.deepEqual(a, b);
    assert.equal(t.runs(), 1, "the second miss waited for the first translation");
    // Two caches on one directory stand for two elfuse processes: both translate, each into a
    // temporary file of its own, and the published file is whole either way.
    const other = new AotCache({
      home: t.home,
      command: ["sh", `${t.home}/t.sh`],
      timeoutMs: 60_000,
    });
    const [c, d] = await Promise.all([
      t.cache.translate(bytes("racing")),
      other.translate(bytes("racing")),
    ]);
    assert.ok("path" in c && "path" in d);
    assert.equal(c.path, d.path);
    assert.equal(Deno.readTextFileSync(c.path), "racing");
    assert.equal(t.runs(), 3);
    assert.equal(t.listing().length, 2, "two .aot files, no temporary ones");
  } finally {
    t.done();
  }
});

Deno.test("a failing, silent, hung or missing translator: an error, nothing cached or left", async () => {
  const cases: [string, string, number, RegExp][] = [
    ["fails", "exit 3", 60_000, /exited with status 3/],
    ["silent", `: > "$3"`, 60_000, /wrote nothing/],
    ["hangs", `printf part > "$3"; exec sleep 600`, 300, /timed out after 0.3 s/],
  ];
  for (const [what, body, timeoutMs, error] of cases) {
    const t = setUp(body, timeoutMs);
    try {
      const r = await t.cache.translate(bytes(what));
      assert.ok("error" in r, what);
      assert.match(r.error, error, what);
      assert.deepEqual(t.listing(), [], `${what}: nothing left in the cache`);
    } finally {
      t.done();
    }
  }
  const home = Deno.makeTempDirSync({ prefix: "elfuse-aot-" });
  try {
    const none = new AotCache({ home, command: [`${home}/absent`], timeoutMs: 1000 });
    const r = await none.translate(bytes("x"));
    assert.ok("error" in r);
    assert.match(r.error, /^cannot translate: /);
    const homeless = new AotCache({ home: undefined, command: ["true"], timeoutMs: 1000 });
    assert.deepEqual(await homeless.translate(bytes("x")), { error: "HOME is not set: no cache" });
    assert.equal(homeless.lookup(new Uint8Array(32)), undefined);
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});
