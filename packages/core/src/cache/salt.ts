import createDebug from "debug";
import { KeySalt, SALT_BYTES } from "./key.js";
import type { CacheCallOptions, LayerCache } from "./layer-cache.js";

const debug = createDebug("molt:cache");

/**
 * The key salt a build uses with `cache`: the store's own (written first-write-wins when it has
 * none and the build may write), a fresh random one when the store has none and cannot take one
 * (read-only: nothing it holds could match anyway), or the constant salt for a store that keeps
 * no salt (a `LayerCache` of your own without `salt`). Failing to read or write it is a warning
 * and a random salt: every step then misses, the build still succeeds.
 */
export async function buildSalt(
  cache: LayerCache,
  options: CacheCallOptions & { readOnly: boolean },
): Promise<KeySalt> {
  if (!cache.salt) return KeySalt.constant;
  const { readOnly, ...call } = options;
  const proposal = KeySalt.random();
  try {
    const bytes = await cache.salt(readOnly ? call : { ...call, propose: proposal.bytes() });
    if (bytes && bytes.length >= SALT_BYTES / 2) return KeySalt.of(bytes);
    debug("no key salt in %s: a random one for this build", cache.description);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    options.onWarning?.(
      `reading the key salt of ${cache.description} failed (${(e as Error).message}); no step can hit this build`,
    );
  }
  return proposal;
}
