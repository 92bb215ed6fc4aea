import { ContextFetchError } from "./errors.js";
import type { ContextSource, OpenContextOptions } from "./source.js";

/** Not implemented yet. */
export async function openTarContext(
  path: string,
  _options: OpenContextOptions = {},
): Promise<ContextSource> {
  throw new ContextFetchError(String(path), "not implemented yet");
}
