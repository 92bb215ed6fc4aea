import type { RunMount } from "../mounts/types.js";

/** The identity a command runs as, resolved against the image's own `/etc/passwd` and `/etc/group`. */
export interface RunUser {
  /** Numeric user id. */
  uid: number;
  /** Numeric primary group id. */
  gid: number;
  /** Supplementary group ids (the primary group is not repeated here). */
  groups: number[];
  /** Home directory from the passwd entry, `/` when there is none. */
  home: string;
  /** The user name when the passwd entry has one. */
  name?: string;
}

/** A file that exists only while a command runs (e.g. the script of a `#!` heredoc). */
export interface TransientFile {
  /** Absolute container path; only under `/dev/pipes/` (the runner's private area). */
  path: string;
  /** File content. */
  content: string | Buffer;
  /** Permission bits, e.g. `0o755`. */
  mode: number;
}

/**
 * Where a long output line was cut. `onOutput` receives lines without their `\n`; a line longer
 * than {@link MAX_OUTPUT_CHUNK} characters arrives in several calls, all but the last with
 * `partial = true`. Concatenating a line's chunks gives the line back exactly.
 */
export type OutputListener = (stream: "stdout" | "stderr", line: string, partial?: boolean) => void;

/** One command to run inside a root directory. */
export interface RunSpec {
  /** Absolute host directory: the stage's root (or an overlay merged dir) to run in. */
  rootfs: string;
  /**
   * Set when `rootfs` is an overlay mounted only in the private mount namespace of process
   * `mountNamespacePid` (the snapshotter's holder, which dies with molt): `rootfs` is then
   * `/proc/<pid>/root/<path>`, which this process can read and write and `chroot` into, but a
   * runner that mounts over the root (proc, dev, `RUN --mount`) must start the command in that
   * namespace (`nsenter --target <pid> --mount`) and there use `<path>`.
   */
  mountNamespacePid?: number;
  /** The program and its arguments; `argv[0]` is looked up through `PATH` of `env` inside the root when it has no `/`. */
  argv: string[];
  /** The exact environment of the command, `K=V` entries; nothing of the host's leaks in. */
  env: string[];
  /**
   * Working directory as a container path. When missing it is created inside the root (mode
   * 0755, every created component owned by `user`, as BuildKit does for `WORKDIR`) and kept.
   */
  cwd: string;
  /** The identity to run as. */
  user: RunUser;
  /** `none`: a new network namespace with only `lo`; `default`/`host`: the host's network. */
  network?: "default" | "none" | "host";
  /** Bytes fed to the command's stdin; without it stdin is `/dev/null`. */
  stdin?: string | Buffer;
  /** Extra file descriptors (≥ 3) the command finds open, fed with `content` through a pipe. */
  extraFds?: { fd: number; content: string }[];
  /** Files visible during the command only (see {@link heredocRunArgv}). */
  transientFiles?: TransientFile[];
  /**
   * `RUN --mount`s, resolved to host paths. Targets missing in the root are created for the
   * command and removed after (with their parents' mtimes), so none of them reaches a layer.
   */
  mounts?: RunMount[];
  /**
   * Variables that carry secrets (`--mount=type=secret,env=NAME`): set in the command's
   * environment (over `env`), never put on any command line nor logged.
   */
  secretEnv?: Record<string, string>;
  /** Aborting kills the whole process tree, removes every mount and rejects promptly. */
  signal?: AbortSignal;
  /** Kill the command after this many milliseconds (rejects with `MOLT_RUN_TIMEOUT`). */
  timeoutMs?: number;
  /** Output, line by line (see {@link OutputListener}); never truncated. */
  onOutput?: OutputListener;
}

/** How a command ended. A command that exits non-zero resolves; only setup failures reject. */
export interface RunOutcome {
  /** The exit status; `128 + n` when the command was killed by signal `n` (as docker reports it). */
  exitCode: number;
  /** The signal name when it is known that the command was killed by a signal. */
  signal?: string;
}

/** One line of a user-namespace id map: container ids `inside…inside+count-1` are host ids `outside…`. */
export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

/** How container ids map to the ids files get on the host disk (a user namespace's maps). */
export interface IdMap {
  uid: IdRange[];
  gid: IdRange[];
}

/** Runs commands inside root directories with some isolation. */
export interface Runner {
  /** Which runner this is: molt's are `chroot`, `rootless` and `in-place`; a runner of your own names itself. */
  readonly name: string;
  /** What this runner could not provide on this host, in plain words (empty when nothing is missing). */
  readonly limitations: string[];
  /**
   * When commands run in a user namespace (rootless): which host ids the container ids are on
   * disk. A layer made from the root must translate host ids back (see `hostToContainerId`).
   * Undefined when ids are the host's (chroot, in-place).
   */
  readonly idMap?: IdMap;
  /** Runs one command; see {@link RunSpec}. */
  run(spec: RunSpec): Promise<RunOutcome>;
}
