// The README as a newcomer reads it: its console examples run as written from the checkout (after
// the quick start, which `./dev test` is), and its task table matches deno.json's tasks.
import assert from "node:assert/strict";

const root = new URL(".", import.meta.url).pathname;
const readme = Deno.readTextFileSync(`${root}README.md`);

/** The `$ command` lines of every ```console block, each with the output that follows it. */
export function consoleExamples(markdown: string): { command: string; output: string }[] {
  const examples: { command: string; output: string }[] = [];
  for (const block of markdown.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const part of block[1].split(/^\$ /m).slice(1)) {
      const [command, ...output] = part.split("\n");
      examples.push({ command, output: output.join("\n") });
    }
  }
  return examples;
}

Deno.test("consoleExamples splits a block into commands and their output", () => {
  assert.deepEqual(consoleExamples("x\n```console\n$ a b\none\ntwo\n$ c\n```\n"), [
    { command: "a b", output: "one\ntwo\n" },
    { command: "c", output: "" },
  ]);
});

const examples = consoleExamples(readme);

Deno.test("the README has console examples, and they start with ./elfuse", () => {
  assert.ok(examples.length >= 2);
  assert.ok(examples.every((e) => e.command.startsWith("./elfuse ")), "no bare deno needed");
});

for (const { command, output } of examples) {
  Deno.test(`README: $ ${command}`, async () => {
    // PATH without .tools/bin: the launcher must find Deno by itself.
    const path = (Deno.env.get("PATH") ?? "").split(":").filter((d) => !d.includes(".tools"))
      .join(":");
    const r = await new Deno.Command("bash", {
      args: ["-c", command],
      cwd: root,
      env: { PATH: path },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(r.code, 0, dec.decode(r.stderr));
    assert.equal(dec.decode(r.stdout), output);
  });
}

Deno.test("the README's task table names every deno.json task, with its description", () => {
  const tasks = JSON.parse(Deno.readTextFileSync(`${root}deno.json`)).tasks as Record<
    string,
    { description?: string; command: string } | string
  >;
  const listed = new Set([...readme.matchAll(/^\| `deno task ([\w-]+)/gm)].map((m) => m[1]));
  for (const [name, task] of Object.entries(tasks)) {
    assert.ok(listed.has(name), `README's task table lacks ${name}`);
    assert.ok(
      typeof task === "object" && task.description,
      `deno.json: ${name} has no description`,
    );
  }
  for (const name of listed) assert.ok(name in tasks, `README lists ${name}, deno.json has none`);
});
