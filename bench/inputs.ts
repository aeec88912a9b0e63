// Inputs of the application benchmarks (gzip, sort, tar, make), generated the same way on every
// run from a fixed seed and written once per run into a temporary folder. Arguments name them
// `{text}`, `{lines}`, `{biglines}`, `{tgz}`, `{makefile}`, and `{outdir}` (an empty folder).

const WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron " +
  "pi rho sigma tau upsilon phi chi psi omega").split(" ");

/** xorshift32: a small deterministic generator (the inputs only need to be the same every run). */
function generator(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** Text of words and numbers, about `bytes` long: compresses about 3x, like prose. */
function text(bytes: number): Uint8Array {
  const next = generator(1);
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = Array.from({ length: 8 }, () => WORDS[next() % WORDS.length]).join(" ") +
      ` ${next() % 1_000_000}\n`;
    parts.push(line);
    size += line.length;
  }
  return new TextEncoder().encode(parts.join(""));
}

/** `count` lines of a random 8-digit hex key and a word, in no order. */
function lines(count: number): Uint8Array {
  const next = generator(2);
  const parts = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    parts[i] = `${next().toString(16).padStart(8, "0")} ${WORDS[next() % WORDS.length]}\n`;
  }
  return new TextEncoder().encode(parts.join(""));
}

/** A Makefile of `count` targets whose recipes each start one program (make posix_spawns it). */
function makefile(count: number): Uint8Array {
  const targets = Array.from({ length: count }, (_, i) => `t${i}`);
  return new TextEncoder().encode(
    `.PHONY: all ${targets.join(" ")}\nall: ${targets.join(" ")}\n${
      targets.map((t) => `${t}:\n\t@true ${t}\n`).join("")
    }`,
  );
}

const makers: Record<string, (quick: boolean) => Uint8Array> = {
  text: (quick) => text(quick ? 1 << 20 : 16 << 20),
  lines: (quick) => lines(quick ? 50_000 : 1_000_000),
  // About 23 MB (issue 21's coreutils sort case).
  biglines: (quick) => lines(quick ? 100_000 : 1_625_000),
  makefile: () => makefile(20),
};

/** A gzipped tar of 64 files of text (4 MiB in all; 512 KiB with --quick), made by the host's tar. */
function tgz(path: string, quick: boolean): void {
  const tree = `${path}.d`;
  Deno.mkdirSync(`${tree}/data`, { recursive: true });
  const all = text(quick ? 512 << 10 : 4 << 20);
  const part = Math.ceil(all.length / 64);
  for (let i = 0; i < 64; i++) {
    Deno.writeFileSync(`${tree}/data/f${i}.txt`, all.subarray(i * part, (i + 1) * part));
  }
  const r = new Deno.Command("tar", { args: ["czf", path, "-C", tree, "data"] }).outputSync();
  if (r.code !== 0) {
    throw new Error(`tar czf ${path} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  Deno.removeSync(tree, { recursive: true });
}

/** Replaces `{name}` arguments in `args` with files in `dir`, written on first use. */
export function withInputs(args: string[], dir: string, quick: boolean): string[] {
  return args.map((a) => {
    const m = /^\{(\w+)\}$/.exec(a);
    if (!m) return a;
    const name = m[1];
    const suffix = quick ? "-quick" : "";
    if (name === "outdir") {
      // Fresh for each use (tar's extractions land there; every run overwrites the same files).
      return Deno.makeTempDirSync({ dir, prefix: "out-" });
    }
    if (name === "tgz") {
      const path = `${dir}/tree${suffix}.tar.gz`;
      if (!exists(path)) tgz(path, quick);
      return path;
    }
    if (!(name in makers)) return a;
    const path = `${dir}/${name}${suffix}.txt`;
    if (!exists(path)) Deno.writeFileSync(path, makers[name](quick));
    return path;
  });
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
