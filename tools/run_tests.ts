// `deno task test` (not named test.ts: deno test would pick that name up as a test module and
// recurse): unit and integration tests, then the matrix's quick subset, then one closing
// line `tests: N passed, N failed` that sums both.
const deno = Deno.execPath();

async function run(args: string[]): Promise<{ code: number; text: string }> {
  const child = new Deno.Command(deno, { args, stdout: "piped", stderr: "inherit" }).spawn();
  let text = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    const s = dec.decode(chunk, { stream: true });
    text += s;
    await Deno.stdout.write(chunk);
  }
  return { code: (await child.status).code, text };
}

// deno test's summary: "ok | 45 passed (2 steps) | 0 failed (3s)" (ANSI colours stripped).
// deno-lint-ignore no-control-regex
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
let passed = 0, failed = 0;

const unit = await run(["test", "-A", "--parallel"]);
const m = /(\d+) passed[^|]*\| (\d+) failed/.exec(
  strip(unit.text).split("\n").filter((l) => /passed.*failed/.test(l)).pop() ?? "",
);
if (m) {
  passed += Number(m[1]);
  failed += Number(m[2]);
} else failed += 1;
if (unit.code !== 0 && !m) console.error("tests: deno test did not report a summary");

let matrixCode = 0;
try {
  Deno.statSync(new URL("../matrix/cli.ts", import.meta.url));
  const matrix = await run([
    "run",
    "-A",
    new URL("../matrix/cli.ts", import.meta.url).pathname,
    "--quick",
  ]);
  matrixCode = matrix.code;
  const s = /^(\d+) passed, (\d+) failed/m.exec(
    strip(matrix.text).split("\n").filter((l) => /^\d+ passed, \d+ failed/.test(l)).pop() ?? "",
  );
  if (s) {
    passed += Number(s[1]);
    failed += Number(s[2]);
  } else failed += 1;
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(unit.code !== 0 || matrixCode !== 0 || failed > 0 ? 1 : 0);
