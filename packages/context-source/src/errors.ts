import { MoltError } from "@molt/oci";

/** The context (directory, tarball, object or repository) or a path inside it does not exist. */
export class ContextNotFoundError extends MoltError<"MOLT_CONTEXT_NOT_FOUND"> {
  /** The path or URL that was looked for. */
  readonly path: string;
  constructor(path: string, what = "context path", options?: { cause?: unknown; message?: string }) {
    super("MOLT_CONTEXT_NOT_FOUND", options?.message ?? `${what} does not exist: ${path}`, options);
    this.path = path;
  }
}

/** A path would resolve outside the context root (`..`, a link pointing out, a hostile tar entry). */
export class ContextEscapeError extends MoltError<"MOLT_CONTEXT_ESCAPE"> {
  /** The offending path as given. */
  readonly path: string;
  constructor(path: string, reason = "resolves outside the build context") {
    super("MOLT_CONTEXT_ESCAPE", `path "${path}" ${reason}`);
    this.path = path;
  }
}

/** No context source is registered for the URL scheme of a context spec. */
export class UnknownContextSchemeError extends MoltError<"MOLT_CONTEXT_UNKNOWN_SCHEME"> {
  /** The scheme, e.g. `s3`. */
  readonly scheme: string;
  constructor(scheme: string, spec: string) {
    super("MOLT_CONTEXT_UNKNOWN_SCHEME", `no context source for scheme "${scheme}://" (in "${spec}")`);
    this.scheme = scheme;
  }
}

/** A `.dockerignore` pattern (or a COPY source pattern) is malformed (Go `filepath.ErrBadPattern`). */
export class BadPatternError extends MoltError<"MOLT_BAD_PATTERN"> {
  /** The pattern as written. */
  readonly pattern: string;
  constructor(pattern: string, where = "pattern") {
    super("MOLT_BAD_PATTERN", `syntax error in ${where}: "${pattern}"`);
    this.pattern = pattern;
  }
}

/** A context tarball is unreadable or holds an entry that is not allowed (traversal, link out, bomb). */
export class ContextArchiveError extends MoltError<"MOLT_CONTEXT_ARCHIVE"> {
  /** The entry name concerned, when one is. */
  readonly entry: string | undefined;
  constructor(message: string, entry?: string, options?: { cause?: unknown }) {
    super("MOLT_CONTEXT_ARCHIVE", message, options);
    this.entry = entry;
  }
}

/** Fetching a remote context (https, gs://, git) failed. */
export class ContextFetchError extends MoltError<"MOLT_CONTEXT_FETCH"> {
  /** The URL being fetched. */
  readonly url: string;
  /** HTTP status when there was one. */
  readonly status: number | undefined;
  constructor(url: string, message: string, options?: { cause?: unknown; status?: number }) {
    super("MOLT_CONTEXT_FETCH", `${url}: ${message}`, options);
    this.url = url;
    this.status = options?.status;
  }
}

/** A remote context exceeded the configured size limit. */
export class ContextTooLargeError extends MoltError<"MOLT_CONTEXT_TOO_LARGE"> {
  /** The limit in bytes. */
  readonly limit: number;
  constructor(what: string, limit: number) {
    super("MOLT_CONTEXT_TOO_LARGE", `${what} exceeds the size limit of ${limit} bytes`);
    this.limit = limit;
  }
}

/** The path is not a regular file where one was required (e.g. {@link ContextSource.open} of a directory). */
export class NotAFileError extends MoltError<"MOLT_CONTEXT_NOT_A_FILE"> {
  /** The context-relative path. */
  readonly path: string;
  constructor(path: string) {
    super("MOLT_CONTEXT_NOT_A_FILE", `not a regular file in the build context: ${path}`);
    this.path = path;
  }
}

/** Resolving a path of the context met too many symbolic links (a loop). */
export class ContextSymlinkLoopError extends MoltError<"MOLT_CONTEXT_SYMLINK_LOOP"> {
  /** The path as given. */
  readonly path: string;
  constructor(path: string) {
    super("MOLT_CONTEXT_SYMLINK_LOOP", `too many levels of symbolic links resolving "${path}"`);
    this.path = path;
  }
}
