import { fileURLToPath } from "node:url";
import { openDirectoryContext } from "./directory.js";
import { UnknownContextSchemeError } from "./errors.js";
import type { ContextFactory, ContextSource, OpenContextOptions } from "./source.js";

const factories = new Map<string, ContextFactory>();

/**
 * Registers (or replaces) the source for a URL scheme, e.g. `s3`, so that
 * `openContext("s3://bucket/ctx.tar.gz")` calls `factory` with the full spec.
 *
 * @example
 * ```ts
 * registerContextScheme("mem", async (spec, opts) => openDirectoryContext(myDirFor(spec), opts));
 * ```
 */
export function registerContextScheme(scheme: string, factory: ContextFactory): void {
  const s = scheme.toLowerCase().replace(/:(\/\/)?$/, "");
  if (!/^[a-z][a-z0-9+.-]*$/.test(s)) throw new TypeError(`invalid URL scheme "${scheme}"`);
  factories.set(s, factory);
}

/** The path of a `file://` URL: `file:///abs` and `file://localhost/abs` (percent-decoded), or `file://rel` as given. */
function fileUrlPath(spec: string): string {
  const rest = spec.slice("file://".length);
  if (rest.startsWith("/") || rest.startsWith("localhost/")) return fileURLToPath(`file://${rest}`);
  return decodeURIComponent(rest);
}

/** The scheme of a spec (`"dir"` when it has none), lower-cased. */
export function schemeOf(spec: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec);
  return m ? (m[1] as string).toLowerCase() : "dir";
}

/** True when docker would treat an http(s) URL as a git repository (`….git` path, optional `#ref:dir`). */
export function isGitUrl(spec: string): boolean {
  if (/^git:\/\//i.test(spec) || /^git@[^:]+:/.test(spec)) return true;
  const m = /^https?:\/\/[^#?]*/i.exec(spec);
  return m !== null && /\.git\/?$/i.test(m[0]);
}

/**
 * Opens a build context from a spec, picked by scheme:
 * - a path, `dir://path` or `file:///abs/path`: a local directory;
 * - `tar://path`, `tar://stdin`: a plain, gzip or zstd tarball;
 * - `gs://bucket/path.tar.gz`: a tarball in Google Cloud Storage;
 * - `s3://bucket/key.tar.gz`: a tarball in Amazon S3 or an S3-compatible store (AWS SDK, loaded only then);
 * - `https://…`: a tarball URL; `git://…`, `https://….git#ref:subdir`, `git@host:repo.git`: git;
 * - any scheme added with {@link registerContextScheme}.
 *
 * @example
 * ```ts
 * const ctx = await openContext("git://127.0.0.1/app.git#v1.2:docker", { dockerfilePath: "Dockerfile" });
 * try { console.log(await ctx.glob("*.json")) } finally { await ctx.close() }
 * ```
 */
export async function openContext(spec: string, options: OpenContextOptions = {}): Promise<ContextSource> {
  options.signal?.throwIfAborted();
  const scheme = isGitUrl(spec) ? "git" : schemeOf(spec);
  const user = factories.get(scheme);
  if (user) return user(spec, options);
  switch (scheme) {
    case "dir":
      return openDirectoryContext(spec.replace(/^dir:\/\//i, ""), options);
    case "file":
      // file:///abs/dir (a URL, percent-decoded) is a directory, as dir:// is.
      return openDirectoryContext(fileUrlPath(spec), options);
    case "tar":
      return (await import("./tarball.js")).openTarContext(spec.slice("tar://".length), options);
    case "gs":
      return (await import("./gcs.js")).openGcsContext(spec, options);
    case "s3":
      return (await import("./s3.js")).openS3Context(spec, options);
    case "https":
    case "http":
      return (await import("./https.js")).openHttpsContext(spec, options);
    case "git":
      return (await import("./git.js")).openGitContext(spec, options);
    default:
      throw new UnknownContextSchemeError(scheme, spec);
  }
}
