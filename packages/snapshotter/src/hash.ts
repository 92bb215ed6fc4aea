import { closeSync, openSync, readSync } from "node:fs";
import { Xxh64 } from "./xxh64.js";

let api: Xxh64 | undefined;

/**
 * The xxh64 instance (made once; see xxh64.ts). Async as the xxhash-wasm instance it replaces
 * was, which callers still await.
 */
export async function hasher(): Promise<Xxh64> {
  api ??= new Xxh64();
  return api;
}

const scratch = Buffer.allocUnsafe(1024 * 1024);

/** xxh64 of a file's content, read synchronously in 1 MiB blocks. */
export function hashFileSync(x: Xxh64, path: string): bigint {
  const h = x.create();
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
