import { readFile } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import type { Readable } from "node:stream";
import { isMissing } from "./directory.js";
import { ContextNotFoundError } from "./errors.js";
import { fetchText } from "./http-fetch.js";
import { schemeOf } from "./schemes.js";
import type { ContextSource } from "./source.js";
import { decodeUtf8, type InvalidUtf8 } from "./utf8.js";

/** Options of {@link readDockerfile}. */
export interface ReadDockerfileOptions {
  /** The opened build context, searched for a relative path not found relative to `cwd`. */
  context?: ContextSource;
  /** Directory a relative path is first resolved against (default `process.cwd()`). */
  cwd?: string;
  /**
   * Which to try first for a relative path: `"cwd"` (default, kaniko's `--dockerfile` order) or
   * `"context"` (docker's default `<context>/Dockerfile` when no `-f` is given).
   */
  prefer?: "cwd" | "context";
  /** Stream read for `-` (default `process.stdin`). */
  stdin?: Readable;
  /** For a URL: extra trusted CA certificates (PEM). */
  ca?: string | Buffer | readonly (string | Buffer)[];
  signal?: AbortSignal;
}

/** A Dockerfile's text and where it came from. */
export interface DockerfileText {
  text: string;
  /**
   * An absolute path on disk, a path relative to the context root (when it was read from the
   * context), `-` for stdin, or the URL. Pass it as `dockerfilePath` to {@link openContext} so the
   * right `<Dockerfile>.dockerignore` is used.
   */
  path: string;
  /** Where the text was found. */
  from: "disk" | "context" | "stdin" | "url";
  /** Set when the bytes were not valid UTF-8 (invalid sequences were replaced with U+FFFD): where the first one is. */
  invalidUtf8?: InvalidUtf8;
}

function decoded(raw: Buffer, path: string, from: DockerfileText["from"]): DockerfileText {
  const { text, invalid } = decodeUtf8(raw);
  return invalid ? { text, path, from, invalidUtf8: invalid } : { text, path, from };
}

/**
 * Reads the Dockerfile: `-` reads stdin, an `http(s)://` URL is fetched, an absolute path is read
 * from disk, a relative path is looked up relative to `cwd` and inside the context (kaniko's order,
 * cwd first, unless `prefer: "context"`). Inside the context it is read even when `.dockerignore` excludes it (docker
 * needs it to build; it is only left out of COPY).
 *
 * @throws {@link ContextNotFoundError} naming the path when it is nowhere to be found.
 */
export async function readDockerfile(
  spec: string,
  options: ReadDockerfileOptions = {},
): Promise<DockerfileText> {
  if (spec === "-") {
    const chunks: Buffer[] = [];
    for await (const c of options.stdin ?? process.stdin) chunks.push(Buffer.from(c as Buffer));
    return decoded(Buffer.concat(chunks), "-", "stdin");
  }
  const scheme = schemeOf(spec);
  if (scheme === "http" || scheme === "https") {
    const text = await fetchText(spec, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
    });
    return { text, path: spec, from: "url" };
  }
  const onDisk = resolvePath(options.cwd ?? process.cwd(), spec);
  const inContext = async (): Promise<DockerfileText | undefined> => {
    if (spec.startsWith("/") || !options.context) return undefined;
    const raw = await options.context.readRaw(spec);
    return raw === undefined ? undefined : decoded(raw, spec, "context");
  };
  if (options.prefer === "context") {
    const found = await inContext();
    if (found) return found;
  }
  try {
    return decoded(await readFile(onDisk), onDisk, "disk");
  } catch (e) {
    if (!isMissing(e) && (e as NodeJS.ErrnoException).code !== "EISDIR") throw e;
  }
  if (options.prefer !== "context") {
    const found = await inContext();
    if (found) return found;
  }
  throw new ContextNotFoundError(spec.startsWith("/") || !options.context ? onDisk : spec, "Dockerfile");
}
