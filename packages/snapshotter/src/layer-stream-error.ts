import { AbortedError, ExtractError } from "./errors.js";
import { TarFormatError } from "./tar-reader.js";

/**
 * The error to throw for a failure while streaming a layer's tar (extracting it or indexing it):
 * an abort as {@link AbortedError}, the typed errors `passThrough` accepts as they are, anything
 * else as an {@link ExtractError} naming the entry and the layer ("corrupt layer" for a malformed
 * tar, else "cannot <verb> layer").
 */
export function layerStreamError(
  e: unknown,
  at: { verb: string; name: string; layer: string | undefined; signal: AbortSignal | undefined },
  passThrough: (e: unknown) => boolean,
): Error {
  if (at.signal?.aborted) return new AbortedError({ cause: at.signal.reason });
  if (passThrough(e)) return e as Error;
  const what =
    e instanceof TarFormatError || e instanceof RangeError ? "corrupt layer" : `cannot ${at.verb} layer`;
  return new ExtractError(`${what}${at.name ? ` at "${at.name}"` : ""}: ${(e as Error).message}`, {
    entry: at.name || undefined,
    layer: at.layer,
    cause: e,
  });
}
