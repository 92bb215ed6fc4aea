import type { Readable } from "node:stream";
import { type RegistryErrorContext, RegistryProtocolError } from "./errors.js";

/**
 * Reads a whole response body into memory, refusing more than `limit` bytes (manifests,
 * configs). The body is destroyed as soon as the limit is passed.
 */
export async function readLimited(
  body: Readable,
  limit: number,
  what: string,
  ctx: RegistryErrorContext,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    const b = c as Buffer;
    size += b.length;
    if (size > limit) {
      abandon(body);
      throw new RegistryProtocolError(`${what}: larger than the ${limit}-byte limit`, ctx);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}

/** Stops reading a response body early, without an unhandled `error` event from the abort. */
export function abandon(body: Readable): void {
  body.on("error", () => {});
  body.destroy();
}
