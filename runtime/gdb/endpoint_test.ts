import assert from "node:assert/strict";
import { parseEndpoint } from "./endpoint.ts";

Deno.test("endpoint: PORT, HOST:PORT, [v6]:PORT and unix socket paths", () => {
  assert.deepEqual(parseEndpoint("1234"), { transport: "tcp", hostname: "127.0.0.1", port: 1234 });
  assert.deepEqual(parseEndpoint("0.0.0.0:9"), { transport: "tcp", hostname: "0.0.0.0", port: 9 });
  assert.deepEqual(parseEndpoint("[::1]:9"), { transport: "tcp", hostname: "::1", port: 9 });
  assert.deepEqual(parseEndpoint("/tmp/x.sock"), { transport: "unix", path: "/tmp/x.sock" });
  assert.deepEqual(parseEndpoint("./x.sock"), { transport: "unix", path: "./x.sock" });
});

Deno.test("endpoint: anything else is a one-line error", () => {
  for (const bad of ["", "abc", "70000", ":12", "host:", "host:port"]) {
    const r = parseEndpoint(bad);
    assert.equal(typeof r, "string", bad);
    assert.ok(!(r as string).includes("\n"));
  }
});
