/**
 * A mount a RUN command sees, already resolved to host paths (what `RUN --mount` becomes once
 * its source is known). Runners make it: inside the command's private mount namespace where
 * they can mount, else by putting the content in the root for the command and taking it out
 * again (see `materialiseMounts`).
 */
export type RunMount = BindRunMount | TmpfsRunMount;

/** A host file, directory or socket bound onto a container path. */
export interface BindRunMount {
  type: "bind";
  /** Absolute host path of the source (directory, regular file or socket). */
  source: string;
  /** Absolute container path. Created for the command when missing, and removed after. */
  target: string;
  /** Writes refused (a read-only bind mount). */
  readonly: boolean;
  /**
   * Writes must reach `source` (a cache mount). Otherwise the source is a throwaway copy or
   * read-only, and what the command writes into it may be dropped.
   */
  persist?: boolean;
}

/** An empty tmpfs, gone after the command. */
export interface TmpfsRunMount {
  type: "tmpfs";
  /** Absolute container path. */
  target: string;
  /** Size limit in bytes (the kernel's default, half of RAM, when absent). */
  size?: number;
}
