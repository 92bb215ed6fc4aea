import { closeSync, openSync, readSync } from "node:fs";
import xxhash, { type XXHashAPI } from "xxhash-wasm";

let api: Promise<XXHashAPI> | undefined;

/** The xxhash-wasm instance (instantiated once). */
export function hasher(): Promise<XXHashAPI> {
  api ??= xxhash();
  return api;
}

const scratch = Buffer.allocUnsafe(1024 * 1024);

/** xxh64 of a file's content, read synchronously in 1 MiB blocks. */
export function hashFileSync(x: XXHashAPI, path: string): bigint {
  const h = x.create64();
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, scratch, 0, scratch.length, null);
      if (n === 0) break;
      h.update(scratch.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest();
}
