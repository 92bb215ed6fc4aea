import { type Digest, isDigest } from "./digest.js";
import { InvalidReferenceError } from "./errors.js";

/** The registry host docker uses for names without one. */
export const DOCKER_HUB = "docker.io";

/**
 * A normalised image reference: `registry/repository[:tag][@digest]`.
 * `docker.io` and `library/` are filled in as docker does.
 */
export interface Reference {
  /** Registry host[:port], e.g. `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path, e.g. `library/busybox`. */
  repository: string;
  tag?: string;
  digest?: Digest;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

/**
 * Parses and normalises an image reference the way docker does.
 *
 * @example
 * ```ts
 * parseReference("busybox") // { registry: "docker.io", repository: "library/busybox", tag: "latest" }
 * parseReference("127.0.0.1:5000/app:1.2")
 * ```
 * @throws {@link InvalidReferenceError} for an invalid name, tag or digest.
 */
export function parseReference(text: string, options: { defaultTag?: string | false } = {}): Reference {
  if (text.length === 0) throw new InvalidReferenceError(text, "empty");
  if (/\s/.test(text)) throw new InvalidReferenceError(text, "contains whitespace");
  if (/^[a-f0-9]{64}$/.test(text)) {
    throw new InvalidReferenceError(text, "a 64-character hexadecimal string is an image ID, not a name");
  }
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw new InvalidReferenceError(text, `invalid digest "${d}"`);
    digest = d;
    rest = rest.slice(0, at);
  }
  if (rest === "") throw new InvalidReferenceError(text, "missing repository name");
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(text, `invalid tag "${tag}"`);
  }
  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes(".") ||
      first.includes(":") ||
      first === "localhost" ||
      first.startsWith("[") ||
      first !== first.toLowerCase()
    ) {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(registry)) throw new InvalidReferenceError(text, `invalid registry "${registry}"`);
  const port = /:(\d+)$/.exec(registry)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    throw new InvalidReferenceError(text, `invalid port ${port} in registry "${registry}" (1-65535)`);
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = DOCKER_HUB;
  if (repository !== repository.toLowerCase())
    throw new InvalidReferenceError(text, "repository name must be lowercase");
  if (repository === "") throw new InvalidReferenceError(text, "missing repository name");
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  for (const part of repository.split("/")) {
    if (!COMPONENT.test(part)) {
      throw new InvalidReferenceError(
        text,
        part === "" ? "empty path component" : `invalid path component "${part}"`,
      );
    }
  }
  if (registry.length + repository.length + 1 > 255) throw new InvalidReferenceError(text, "name too long");
  if (tag === undefined && digest === undefined && options.defaultTag !== false)
    tag = options.defaultTag ?? "latest";
  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Formats a reference back to text: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/**
 * The short form docker shows: `docker.io/` and `library/` dropped.
 *
 * @example
 * ```ts
 * familiarReference(parseReference("busybox")) // "busybox:latest"
 * familiarReference(parseReference("ghcr.io/a/b@sha256:…")) // "ghcr.io/a/b@sha256:…"
 * ```
 */
export function familiarReference(ref: Reference): string {
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DOCKER_HUB) {
    name =
      ref.repository.startsWith("library/") && ref.repository.split("/").length === 2
        ? ref.repository.slice("library/".length)
        : ref.repository;
  }
  if (ref.tag) name += `:${ref.tag}`;
  if (ref.digest) name += `@${ref.digest}`;
  return name;
}

/** The same reference pinned to a digest (tag kept), e.g. for `--image-name-with-digest-file`. */
export function withDigest(ref: Reference, digest: Digest): Reference {
  return { ...ref, digest };
}
