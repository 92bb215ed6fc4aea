import { ContextFetchError } from "./errors.js";
import type { ContextSource, OpenContextOptions } from "./source.js";

/** Not implemented yet. */
export async function openGitContext(
  spec: string,
  _options: OpenContextOptions = {},
): Promise<ContextSource> {
  throw new ContextFetchError(String(spec), "not implemented yet");
}
