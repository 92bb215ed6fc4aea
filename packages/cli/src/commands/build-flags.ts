import { parseArgs } from "node:util";
import type { BuildOptions } from "@molt/core";
import { UsageError } from "../io.js";
import { applyExtractLimitFlags, EXTRACT_LIMIT_FLAGS, EXTRACT_LIMIT_HELP } from "./extract-limit-flags.js";
import { applyMountFlags, MOUNT_FLAGS, MOUNT_HELP } from "./mount-flags.js";

/** The one-line usage of `molt build`. */
export const BUILD_USAGE =
  "usage: molt build [-c CONTEXT] [-f DOCKERFILE] [-d DEST]... [--no-push] [--oci-layout-path DIR] [--tar-path FILE] [--digest-file FILE] [--insecure] [--insecure-pull] [--label K=V]... [--build-arg K[=V]]... [--target STAGE] [--reproducible] [... see molt build --help]";

/** The full flag list printed by `molt build --help`. */
export const BUILD_HELP = `${BUILD_USAGE}

context and Dockerfile:
  -c, --context CONTEXT              directory (default .), tar://FILE, tar://stdin, gs://BUCKET/PATH, https://URL, git URL
      --context-sub-path DIR         use DIR inside the context as its root
  -f, --dockerfile PATH              Dockerfile path (relative: cwd first, then the context), URL, or - for stdin
      --build-arg K[=V]              ARG value (K alone takes it from the environment); repeatable
      --target STAGE                 build this stage
      --custom-platform OS/ARCH[/V]  target platform (default linux/amd64)
outputs:
  -d, --destination REF              push here; repeatable
      --no-push                      push nothing
      --oci-layout-path DIR          write an OCI image layout
      --tar-path FILE                write a docker-archive tarball (docker load / podman load)
      --digest-file FILE             write the manifest digest
      --image-name-with-digest-file FILE      registry/repo@digest per destination
      --image-name-tag-with-digest-file FILE  registry/repo:tag@digest per destination
      --label K=V                    add a label; repeatable
      --image-format oci|docker      manifest format (default: follow the base image)
      --compression gzip|zstd|none   layer compression (default gzip); --compression-level N
      --reproducible                 timestamps from SOURCE_DATE_EPOCH (or 0)
      --subsecond-mtimes             keep sub-second file times in layers (default: whole seconds, as Docker)
registries:
      --insecure / --insecure-pull   plain HTTP for destination / base-image registries
      --insecure-registry HOST       plain HTTP for HOST; repeatable
      --skip-tls-verify / --skip-tls-verify-pull / --skip-tls-verify-registry HOST
      --registry-certificate HOST=CA.pem   --registry-client-cert HOST=CERT.pem,KEY.pem
      --registry-mirror HOST         Docker Hub mirror; repeatable
      --push-retry N / --image-download-retry N   retries of failed registry requests (default 4)
RUN:
      --runner auto|chroot|rootless|in-place   (in-place also needs --allow-in-place)
      --snapshotter auto|walk|overlay
      --ignore-path PATH             never record changes under PATH; repeatable
${MOUNT_HELP}
  -v, --verbosity LEVEL              info (default) or error
${EXTRACT_LIMIT_HELP}`;

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
  "tar-path": { type: "string" },
  "image-name-with-digest-file": { type: "string" },
  "image-name-tag-with-digest-file": { type: "string" },
  reproducible: { type: "boolean" },
  "subsecond-mtimes": { type: "boolean" },
  "context-sub-path": { type: "string" },
  "skip-tls-verify": { type: "boolean" },
  "skip-tls-verify-pull": { type: "boolean" },
  "skip-tls-verify-registry": { type: "string", multiple: true },
  "registry-certificate": { type: "string", multiple: true },
  "registry-client-cert": { type: "string", multiple: true },
  "registry-mirror": { type: "string", multiple: true },
  "push-retry": { type: "string" },
  "image-download-retry": { type: "string" },
  compression: { type: "string" },
  "compression-level": { type: "string" },
  "image-format": { type: "string" },
  runner: { type: "string" },
  "allow-in-place": { type: "boolean" },
  snapshotter: { type: "string" },
  "ignore-path": { type: "string", multiple: true },
  verbosity: { type: "string", short: "v" },
  help: { type: "boolean", short: "h" },
  ...MOUNT_FLAGS,
  ...EXTRACT_LIMIT_FLAGS,
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
  if (values["tar-path"] !== undefined) options.tarPath = values["tar-path"];
  if (values["image-name-with-digest-file"] !== undefined)
    options.imageNameWithDigestFile = values["image-name-with-digest-file"];
  if (values["image-name-tag-with-digest-file"] !== undefined) {
    options.imageNameTagWithDigestFile = values["image-name-tag-with-digest-file"];
  }
  if (values.reproducible) options.reproducible = true;
  if (values["subsecond-mtimes"]) options.subsecondMtimes = true;
  if (values["context-sub-path"] !== undefined) options.contextSubPath = values["context-sub-path"];
  if (values["skip-tls-verify"]) options.skipTlsVerify = true;
  if (values["skip-tls-verify-pull"]) options.skipTlsVerifyPull = true;
  if (values["skip-tls-verify-registry"])
    options.skipTlsVerifyRegistries = values["skip-tls-verify-registry"];
  if (values["registry-certificate"])
    options.registryCertificates = keyValues(values["registry-certificate"], "registry-certificate", true);
  if (values["registry-client-cert"]) {
    const certs: Record<string, { cert: string; key: string }> = {};
    for (const [host, pair] of Object.entries(
      keyValues(values["registry-client-cert"], "registry-client-cert", true),
    )) {
      const [cert, key] = pair.split(",");
      if (!cert || !key)
        throw new UsageError(
          `--registry-client-cert expects HOST=CERT,KEY, got "${host}=${pair}"`,
          BUILD_USAGE,
        );
      certs[host] = { cert, key };
    }
    options.registryClientCerts = certs;
  }
  if (values["registry-mirror"]) options.registryMirrors = values["registry-mirror"];
  for (const flag of ["push-retry", "image-download-retry"] as const) {
    const v = values[flag];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 100)
      throw new UsageError(`--${flag} expects a number of retries, got "${v}"`, BUILD_USAGE);
    options.registryRetries = Math.max(options.registryRetries ?? 0, n);
  }
  if (values.compression !== undefined)
    options.compression = oneOf(values.compression, "compression", ["gzip", "zstd", "none"] as const);
  if (values["compression-level"] !== undefined) {
    const n = Number(values["compression-level"]);
    if (!Number.isInteger(n) || n < 0 || n > 19)
      throw new UsageError(
        `--compression-level expects 0-19, got "${values["compression-level"]}"`,
        BUILD_USAGE,
      );
    options.compressionLevel = n;
  }
  if (values["image-format"] !== undefined)
    options.imageFormat = oneOf(values["image-format"], "image-format", ["oci", "docker"] as const);
  if (values.runner !== undefined)
    options.runner = oneOf(values.runner, "runner", ["auto", "chroot", "rootless", "in-place"] as const);
  if (values["allow-in-place"]) options.allowInPlace = true;
  if (values["ignore-path"]) options.ignorePaths = values["ignore-path"];
  applyMountFlags(values, options, BUILD_USAGE);
  if (values.snapshotter !== undefined)
    options.snapshotMode = oneOf(values.snapshotter, "snapshotter", ["auto", "walk", "overlay"] as const);
  applyExtractLimitFlags(values, options, BUILD_USAGE);
  if (
    !options.noPush &&
    options.destinations!.length === 0 &&
    !options.ociLayoutPath &&
    !options.tarPath &&
    !values.help
  ) {
    throw new UsageError(
      "no destination: give -d/--destination, --oci-layout-path, or --no-push",
      BUILD_USAGE,
    );
  }
  return { options, verbosity: values.verbosity ?? "info", help: values.help ?? false };
}

/** Checks an enumerated flag value. */
function oneOf<T extends string>(value: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}; got "${value}"`, BUILD_USAGE);
  }
  return value as T;
}

/** Node's parseArgs messages, shortened to what a user needs. */
function cleanMessage(msg: string): string {
  return msg.replace(/\. To specify a positional argument.*$/s, "").replace(/^TypeError \[[A-Z_]+\]: /, "");
}
