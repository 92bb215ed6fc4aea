import { MoltError } from "./errors.js";

/**
 * A path cannot be resolved inside the root. The family of the path errors: each condition is
 * its own subclass with one `code`.
 */
export abstract class PathResolveError<
  C extends "MOLT_PATH_LOOP" | "MOLT_PATH_NOT_DIRECTORY" | "MOLT_PATH_ESCAPE" =
    | "MOLT_PATH_LOOP"
    | "MOLT_PATH_NOT_DIRECTORY"
    | "MOLT_PATH_ESCAPE",
> extends MoltError<C> {
  /** The path as given. */
  readonly path: string;
  /** Why, without the path. */
  readonly reason: string;
  /** A missing component came before the failure (where the kernel would have stopped with `ENOENT`). */
  readonly afterMissing: boolean;
  constructor(code: C, path: string, reason: string, afterMissing = false) {
    super(code, `cannot resolve "${path}" inside the root: ${reason}`);
    this.path = path;
    this.reason = reason;
    this.afterMissing = afterMissing;
  }
}

/** Resolving the path follows too many symlinks (`MOLT_PATH_LOOP`). */
export class PathLoopError extends PathResolveError<"MOLT_PATH_LOOP"> {
  constructor(path: string, reason: string, afterMissing = false) {
    super("MOLT_PATH_LOOP", path, reason, afterMissing);
  }
}

/** A component of the path that must be a directory is not one (`MOLT_PATH_NOT_DIRECTORY`). */
export class PathNotDirectoryError extends PathResolveError<"MOLT_PATH_NOT_DIRECTORY"> {
  constructor(path: string, reason: string, afterMissing = false) {
    super("MOLT_PATH_NOT_DIRECTORY", path, reason, afterMissing);
  }
}

/** The path uses `..` where it is forbidden or where it would climb above the root (`MOLT_PATH_ESCAPE`). */
export class PathEscapeError extends PathResolveError<"MOLT_PATH_ESCAPE"> {
  constructor(path: string, reason: string, afterMissing = false) {
    super("MOLT_PATH_ESCAPE", path, reason, afterMissing);
  }
}
