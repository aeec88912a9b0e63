// Chooses and creates a CPU backend. Backends are imported lazily so that a run loads only the
// one it uses.
import { ElfuseError } from "../errors.ts";
import type { Backend, SlabInfo } from "./backend.ts";

export type BackendName = "unicorn" | "hvf" | "hvf-sim";
export const backendNames: readonly BackendName[] = ["unicorn", "hvf", "hvf-sim"];

/** The default: hvf on Apple Silicon macOS (once it exists), unicorn elsewhere, with the reason. */
export function defaultBackend(): { name: BackendName; reason: string } {
  if (Deno.build.os === "darwin" && Deno.build.arch === "aarch64") {
    return { name: "unicorn", reason: "the hvf backend is not built yet; using unicorn" };
  }
  return {
    name: "unicorn",
    reason:
      `Hypervisor.framework needs macOS on Apple Silicon (this is ${Deno.build.os}/${Deno.build.arch})`,
  };
}

export async function createBackend(name: BackendName, slab: SlabInfo): Promise<Backend> {
  switch (name) {
    case "unicorn": {
      const { UnicornBackend } = await import("./unicorn/backend.ts");
      try {
        return new UnicornBackend(slab);
      } catch (e) {
        throw new ElfuseError((e as Error).message);
      }
    }
    case "hvf":
      throw new ElfuseError(
        Deno.build.os === "darwin" && Deno.build.arch === "aarch64"
          ? "the hvf backend is not implemented yet; use --backend unicorn"
          : `--backend hvf needs macOS on Apple Silicon (this is ${Deno.build.os}/${Deno.build.arch}); use --backend unicorn`,
      );
    case "hvf-sim":
      throw new ElfuseError("the hvf simulator is not implemented yet; use --backend unicorn");
  }
}
