/**
 * RUN runners: execute a command inside a stage's root directory, isolated as far as the host
 * allows. See RUNNERS.md for which runner fits where.
 */
export { detectHost, type HostCapabilities } from "./detect.js";
export { DEFAULT_PATH, runEnvironment } from "./environment.js";
export {
  InPlaceRefusedError,
  RunAbortedError,
  RunFailedError,
  RunnerSetupError,
  RunnerUnavailableError,
  RunTimeoutError,
  RunUnsupportedError,
  UnknownGroupError,
  UnknownUserError,
} from "./errors.js";
export { DEFAULT_SHELL, heredocRunArgv, type RunCommand, type RunCommandSource } from "./heredoc.js";
export type { HostTools } from "./host-tools.js";
export { containerToHostId, hostToContainerId } from "./id-map.js";
export type { MountId } from "./mount-plan.js";
export { MAX_OUTPUT_CHUNK } from "./output-lines.js";
export { mkdirInRoot, type RootPath, resolveInRoot } from "./root-path.js";
export { ChrootRunner, InPlaceRunner, RootlessRunner } from "./runners.js";
export { type RunnerPreference, selectRunner } from "./select.js";
export type {
  IdMap,
  IdRange,
  OutputListener,
  Runner,
  RunOutcome,
  RunSpec,
  RunUser,
  TransientFile,
} from "./types.js";
export { type ImageAccounts, parseImageAccounts, readImageAccounts, resolveUser } from "./user.js";
