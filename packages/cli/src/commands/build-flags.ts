import { parseArgs } from "node:util";
import type { BuildOptions } from "@molt/core";
import { UsageError } from "../io.js";

/** The one-line usage of `molt build`. */
export const BUILD_USAGE =
  "usage: molt build [-c CONTEXT] [-f DOCKERFILE] [-d DEST]... [--no-push] [--oci-layout-path DIR] [--digest-file FILE] [--insecure] [--insecure-pull] [--insecure-registry HOST]... [--label K=V]... [--build-arg K[=V]]... [--target STAGE] [--custom-platform OS/ARCH] [--verbosity LEVEL]";

/** kaniko's flag names, with the same short forms. */
const FLAGS = {
  context: { type: "string", short: "c" },
  dockerfile: { type: "string", short: "f" },
  destination: { type: "string", short: "d", multiple: true },
  "no-push": { type: "boolean" },
  "oci-layout-path": { type: "string" },
  "digest-file": { type: "string" },
  insecure: { type: "boolean" },
  "insecure-pull": { type: "boolean" },
  "insecure-registry": { type: "string", multiple: true },
  label: { type: "string", multiple: true },
  "build-arg": { type: "string", multiple: true },
  target: { type: "string" },
  "custom-platform": { type: "string" },
  verbosity: { type: "string", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

/** The parsed `molt build` command line. */
export interface BuildFlags {
  options: Omit<BuildOptions, "signal" | "onProgress">;
  verbosity: string;
  help: boolean;
}

/**
 * Parses `molt build` flags (kaniko's names). Unknown flags, missing values and stray
 * arguments are {@link UsageError}s.
 */
export function parseBuildFlags(argv: string[], cwd: string): BuildFlags {
  let values: ReturnType<
    typeof parseArgs<{ options: typeof FLAGS; strict: true; allowPositionals: false; args: string[] }>
  >["values"];
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(cleanMessage((e as Error).message), BUILD_USAGE);
  }
  const keyValues = (list: string[] | undefined, flag: string, requireValue: boolean) => {
    const out: Record<string, string> = {};
    for (const item of list ?? []) {
      const eq = item.indexOf("=");
      if (eq <= 0) {
        if (requireValue || eq === 0)
          throw new UsageError(`--${flag} expects KEY=VALUE, got "${item}"`, BUILD_USAGE);
        const env = process.env[item];
        if (env !== undefined) out[item] = env;
        continue;
      }
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  };
  const options: BuildFlags["options"] = {
    context: values.context ?? cwd,
    destinations: values.destination ?? [],
  };
  if (values.dockerfile !== undefined) options.dockerfile = values.dockerfile;
  if (values["no-push"]) options.noPush = true;
  if (values["oci-layout-path"] !== undefined) options.ociLayoutPath = values["oci-layout-path"];
  if (values["digest-file"] !== undefined) options.digestFile = values["digest-file"];
  if (values.insecure) options.insecure = true;
  if (values["insecure-pull"]) options.insecurePull = true;
  if (values["insecure-registry"]) options.insecureRegistries = values["insecure-registry"];
  if (values.label) options.labels = keyValues(values.label, "label", true);
  if (values["build-arg"]) options.buildArgs = keyValues(values["build-arg"], "build-arg", false);
  if (values.target !== undefined) options.target = values.target;
  if (values["custom-platform"] !== undefined) options.platform = values["custom-platform"];
  if (!options.noPush && options.destinations!.length === 0 && !options.ociLayoutPath && !values.help) {
    throw new UsageError(
      "no destination: give -d/--destination, --oci-layout-path, or --no-push",
      BUILD_USAGE,
    );
  }
  return { options, verbosity: values.verbosity ?? "info", help: values.help ?? false };
}

/** Node's parseArgs messages, shortened to what a user needs. */
function cleanMessage(msg: string): string {
  return msg.replace(/\. To specify a positional argument.*$/s, "").replace(/^TypeError \[[A-Z_]+\]: /, "");
}
