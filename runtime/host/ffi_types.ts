/**
 * Deno types 64-bit FFI parameters as `bigint`, yet passes plain numbers through at runtime (and
 * numbers avoid allocating a BigInt per call). This widens such parameters to `number | bigint`.
 */
export type NumberArgs<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: { [I in keyof A]: A[I] extends bigint ? number | bigint : A[I] }) => R
    : T[K];
};
