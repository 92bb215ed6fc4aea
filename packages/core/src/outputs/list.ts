import { InvalidBuildOptionsError } from "../errors.js";
import type { BuildOptions, BuildOutput } from "../options.js";

/**
 * Folds `outputs` (the list a program passes) into the flag-shaped fields the build reads:
 * registry entries become `destinations` (after any given directly), one `oci-layout` becomes
 * `ociLayoutPath`, one `docker-archive` becomes `tarPath`. A second layout or archive, or one
 * that disagrees with the field set directly, is an {@link InvalidBuildOptionsError}.
 */
export function withOutputs(options: BuildOptions): BuildOptions {
  const outputs: readonly BuildOutput[] = options.outputs ?? [];
  if (outputs.length === 0) return options;
  const out: BuildOptions = { ...options, destinations: [...(options.destinations ?? [])] };
  const single = (field: "ociLayoutPath" | "tarPath", kind: string, path: string) => {
    if (out[field] !== undefined && out[field] !== path)
      throw new InvalidBuildOptionsError(
        `outputs: only one ${kind} output is supported (got ${out[field]} and ${path})`,
      );
    out[field] = path;
  };
  for (const o of outputs) {
    if (o.type === "registry") out.destinations!.push(o.ref);
    else if (o.type === "oci-layout") single("ociLayoutPath", "oci-layout", o.path);
    else if (o.type === "docker-archive") single("tarPath", "docker-archive", o.path);
    else throw new InvalidBuildOptionsError(`outputs: unknown output type "${(o as { type: string }).type}"`);
  }
  return out;
}
