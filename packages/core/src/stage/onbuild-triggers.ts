import type { ImageConfig } from "@molt/oci";
import { type Instruction, parseDockerfile } from "@molt/parser";

/**
 * The ONBUILD triggers a base image carries, parsed as instructions to run right after FROM, as
 * docker does. The triggers are consumed: the new image's config no longer lists them.
 */
export function takeOnbuildTriggers(config: ImageConfig, baseName: string): Instruction[] {
  const triggers = config.config?.OnBuild ?? [];
  if (triggers.length === 0) return [];
  if (config.config) config.config.OnBuild = null;
  const text = `FROM scratch\n${triggers.join("\n")}\n`;
  const parsed = parseDockerfile(text, { file: `ONBUILD triggers of ${baseName}` });
  return parsed.stages[0]?.instructions ?? [];
}
