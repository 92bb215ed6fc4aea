import type { SourceLocation } from "../location.js";

/**
 * Typed instructions. Every field holds the words as written (quotes and `$` references
 * intact) until {@link expandInstruction} applies the expansion the reference prescribes.
 * @module
 */

/** Fields every instruction has. */
export interface InstructionBase {
  /** Where the instruction is (keyword through the end of its last heredoc). */
  location: SourceLocation;
  /** The instruction as written, continuation lines joined (used for image history). */
  original: string;
  /** The escape character in effect, present only when it is not a backslash (the `escape` directive). */
  escapeToken?: string;
}

/** Exec form (`["a","b"]`) or shell form (`a b`) of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD. */
export type CommandForm = { form: "exec"; args: string[] } | { form: "shell"; command: string };

/** A here-document of RUN, COPY or ADD. */
export interface Heredoc {
  /** Delimiter (quotes removed). For COPY/ADD it is the source name that refers to this document. */
  name: string;
  /** `3<<EOF`: the file descriptor the document is fed to (RUN). */
  fileDescriptor?: number;
  /** `<<-`: leading tabs were stripped from `content`. */
  chomp: boolean;
  /** False when the delimiter was quoted: `content` must not be expanded. */
  expand: boolean;
  /** The document text (tabs stripped when `chomp`), lines ending with `\n`. */
  content: string;
  location: SourceLocation;
}

/** `FROM [--platform=p] image [AS name]`. */
export interface FromInstruction extends InstructionBase {
  kind: "FROM";
  image: string;
  /** Lower-cased stage name after `AS`. */
  stageName?: string;
  /** The stage name as written. */
  stageNameRaw?: string;
  platform?: string;
}

/** A `RUN --mount` of type `bind`: files of the context or of another stage/image. */
export interface BindMount {
  type: "bind";
  target: string;
  source?: string;
  from?: string;
  readonly: boolean;
}

/** A `RUN --mount` of type `cache`: a directory kept between builds. */
export interface CacheMount {
  type: "cache";
  target: string;
  /** Cache id (defaults to the target). */
  id: string;
  source?: string;
  from?: string;
  readonly: boolean;
  sharing: "shared" | "private" | "locked";
  /** Permission bits of the cache directory (default 0o755). */
  mode: number;
  uid: number;
  gid: number;
}

/** A `RUN --mount` of type `tmpfs`. */
export interface TmpfsMount {
  type: "tmpfs";
  target: string;
  /** Size limit in bytes. */
  size?: number;
  readonly: boolean;
}

/** A `RUN --mount` of type `secret`: a secret file (or environment variable). */
export interface SecretMount {
  type: "secret";
  /** Secret id (defaults to the base name of the target). */
  id: string;
  /** Mount path (defaults to `/run/secrets/<id>` unless `env` is given). */
  target?: string;
  /** Expose the secret as this environment variable. */
  env?: string;
  required: boolean;
  /** Permission bits (default 0o400). */
  mode: number;
  uid: number;
  gid: number;
}

/** A `RUN --mount` of type `ssh`: an SSH agent socket. */
export interface SshMount {
  type: "ssh";
  /** Agent id (default `default`). */
  id: string;
  /** Socket path (default chosen by the runner, `/run/buildkit/ssh_agent.<n>`). */
  target?: string;
  required: boolean;
  /** Permission bits (default 0o600). */
  mode: number;
  uid: number;
  gid: number;
}

/** A typed `RUN --mount`. `raw` is the flag value as written (before expansion). */
export type Mount = (BindMount | CacheMount | TmpfsMount | SecretMount | SshMount) & { raw: string };

/** `RUN` (with `--mount`, `--network`, `--security`, heredocs). */
export type RunInstruction = InstructionBase &
  CommandForm & {
    kind: "RUN";
    mounts: Mount[];
    network?: "default" | "none" | "host";
    security?: "sandbox" | "insecure";
    heredocs: Heredoc[];
  };

/** `CMD`. */
export type CmdInstruction = InstructionBase & CommandForm & { kind: "CMD" };
/** `ENTRYPOINT`. */
export type EntrypointInstruction = InstructionBase & CommandForm & { kind: "ENTRYPOINT" };

/** `COPY [--from] [--chown] [--chmod] [--link] [--parents] [--exclude]… src… dest`. */
export interface CopyInstruction extends InstructionBase {
  kind: "COPY";
  /** Source paths (heredoc sources are not here but in `heredocs`). */
  sources: string[];
  dest: string;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
  heredocs: Heredoc[];
  /** True when written in JSON (exec) form. */
  json: boolean;
}

/** `ADD [--chown] [--chmod] [--link] [--keep-git-dir] [--checksum] [--unpack] [--exclude]… src… dest`. */
export interface AddInstruction extends InstructionBase {
  kind: "ADD";
  sources: string[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  keepGitDir: boolean;
  checksum?: string;
  /** `--unpack`: `true`/`false` when given, `undefined` for the default (unpack local archives). */
  unpack?: boolean;
  exclude: string[];
  heredocs: Heredoc[];
  json: boolean;
}

/** A `key=value` pair of ENV or LABEL. */
export interface KeyValue {
  key: string;
  value: string;
}

/** `ENV k=v …` or legacy `ENV k v`. */
export interface EnvInstruction extends InstructionBase {
  kind: "ENV";
  pairs: KeyValue[];
  /** Written in the legacy `ENV key value` form. */
  legacy: boolean;
}

/** `LABEL k=v …` or legacy `LABEL k v`. */
export interface LabelInstruction extends InstructionBase {
  kind: "LABEL";
  pairs: KeyValue[];
  legacy: boolean;
}

/** One declared build argument. */
export interface ArgDeclaration {
  key: string;
  /** Default value as written; `undefined` when declared without `=`. */
  default?: string;
}

/** `ARG name[=default] …`. */
export interface ArgInstruction extends InstructionBase {
  kind: "ARG";
  args: ArgDeclaration[];
}

/** `WORKDIR path`. */
export interface WorkdirInstruction extends InstructionBase {
  kind: "WORKDIR";
  path: string;
}

/** `USER user[:group]`. */
export interface UserInstruction extends InstructionBase {
  kind: "USER";
  user: string;
}

/** `EXPOSE port[/proto] …`. */
export interface ExposeInstruction extends InstructionBase {
  kind: "EXPOSE";
  ports: string[];
}

/** `VOLUME path …` or `VOLUME ["path", …]`. */
export interface VolumeInstruction extends InstructionBase {
  kind: "VOLUME";
  paths: string[];
}

/** `STOPSIGNAL signal`. */
export interface StopsignalInstruction extends InstructionBase {
  kind: "STOPSIGNAL";
  signal: string;
}

/** `SHELL ["executable", "param", …]` (JSON form only). */
export interface ShellInstruction extends InstructionBase {
  kind: "SHELL";
  args: string[];
}

/** `MAINTAINER name` (deprecated). */
export interface MaintainerInstruction extends InstructionBase {
  kind: "MAINTAINER";
  name: string;
}

/** The options of `HEALTHCHECK … CMD`. Durations in nanoseconds (as the image config stores them). */
export interface HealthcheckOptions {
  /** `--interval`, nanoseconds. */
  interval?: number;
  /** `--timeout`, nanoseconds. */
  timeout?: number;
  /** `--start-period`, nanoseconds. */
  startPeriod?: number;
  /** `--start-interval`, nanoseconds. */
  startInterval?: number;
  /** `--retries`. */
  retries?: number;
}

/** `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`. */
export type HealthcheckInstruction = InstructionBase &
  HealthcheckOptions &
  ({ kind: "HEALTHCHECK"; none: true } | ({ kind: "HEALTHCHECK"; none: false } & CommandForm));

/** `ONBUILD <instruction>`: a trigger recorded in the image config. */
export interface OnbuildInstruction extends InstructionBase {
  kind: "ONBUILD";
  /** The trigger expression as written (what goes into the image's `OnBuild` list). */
  expression: string;
  /** The trigger, parsed and validated. */
  trigger: Instruction;
}

/** Any typed instruction (discriminated on `kind`). */
export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | CopyInstruction
  | AddInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | StopsignalInstruction
  | ShellInstruction
  | MaintainerInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

/** The instruction keywords, upper-cased. */
export type InstructionKind = Instruction["kind"];

/** Every instruction keyword of the stable syntax. */
export const INSTRUCTION_KINDS: readonly InstructionKind[] = [
  "FROM",
  "RUN",
  "CMD",
  "ENTRYPOINT",
  "COPY",
  "ADD",
  "ENV",
  "LABEL",
  "ARG",
  "WORKDIR",
  "USER",
  "EXPOSE",
  "VOLUME",
  "STOPSIGNAL",
  "SHELL",
  "MAINTAINER",
  "HEALTHCHECK",
  "ONBUILD",
];
