/**
 * A line diff for showing two outputs side by side (longest common subsequence over lines; the
 * inputs are excerpts, a few hundred lines at most).
 *
 * @module
 */

/** One row of a side-by-side diff. */
export interface DiffRow {
  kind: "same" | "change" | "left" | "right";
  left?: string;
  right?: string;
}

/** Lines kept from each side; past that the rest is shown as one changed block. */
const MAX_LINES = 600;

/**
 * The rows of a side-by-side diff of two texts: equal lines paired, a removed run next to an added
 * run shown as changes.
 *
 * @example
 * ```ts
 * sideBySide("a\nb\n", "a\nc\n");
 * // [{ kind: "same", left: "a", right: "a" }, { kind: "change", left: "b", right: "c" }]
 * ```
 */
export function sideBySide(a: string, b: string): DiffRow[] {
  const split = (s: string) => (s === "" ? [] : s.replace(/\n$/, "").split("\n"));
  const al = split(a).slice(0, MAX_LINES);
  const bl = split(b).slice(0, MAX_LINES);
  const n = al.length;
  const m = bl.length;
  // lcs[i][j]: length of the LCS of al[i..] and bl[j..].
  const lcs: Uint16Array[] = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = al[i] === bl[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows: DiffRow[] = [];
  let left: string[] = [];
  let right: string[] = [];
  const flush = () => {
    const k = Math.max(left.length, right.length);
    for (let x = 0; x < k; x++) {
      const l = left[x];
      const r = right[x];
      rows.push({
        kind: l !== undefined && r !== undefined ? "change" : l !== undefined ? "left" : "right",
        left: l,
        right: r,
      });
    }
    left = [];
    right = [];
  };
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && al[i] === bl[j]) {
      flush();
      rows.push({ kind: "same", left: al[i], right: bl[j] });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      right.push(bl[j++]);
    } else {
      left.push(al[i++]);
    }
  }
  flush();
  return rows;
}
