// Inputs of the application benchmarks (gzip, sort), generated the same way on every run from a
// fixed seed and written once per run into a temporary folder. Arguments name them `{text}` and
// `{lines}`.

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

const makers = {
  text: (quick: boolean) => text(quick ? 1 << 20 : 16 << 20),
  lines: (quick: boolean) => lines(quick ? 50_000 : 1_000_000),
};

/** Replaces `{text}` and `{lines}` in `args` with files in `dir`, written on first use. */
export function withInputs(args: string[], dir: string, quick: boolean): string[] {
  return args.map((a) => {
    const m = /^\{(\w+)\}$/.exec(a);
    if (!m || !(m[1] in makers)) return a;
    const path = `${dir}/${m[1]}${quick ? "-quick" : ""}.txt`;
    try {
      Deno.statSync(path);
    } catch {
      Deno.writeFileSync(path, makers[m[1] as keyof typeof makers](quick));
    }
    return path;
  });
}
