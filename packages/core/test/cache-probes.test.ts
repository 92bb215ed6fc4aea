import type { Digest } from "@molt/oci";
import { describe, expect, test } from "vitest";
import { corruptLayerOf } from "../src/cache/corrupt-layer.js";
import { KeySalt } from "../src/cache/key.js";
import type { CacheHit, LayerCache } from "../src/cache/layer-cache.js";
import { PROBES_IN_FLIGHT, StepCache } from "../src/cache/step-cache.js";

const key = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}` as Digest;

/** A store whose gets take `ms` and that records how many run at once. */
function slowStore(ms: number) {
  const seen: Digest[] = [];
  let running = 0;
  let peak = 0;
  const store: LayerCache = {
    description: "test store",
    async get(k) {
      seen.push(k);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return undefined as CacheHit | undefined;
    },
    nearest: async () => undefined,
    put: async () => {},
  };
  return { store, seen, peak: () => peak };
}

const settings = {
  noCache: false,
  noCacheStages: new Set<string>(),
  runLayers: true,
  copyLayers: true,
  salt: KeySalt.random(),
};

describe("StepCache probes", () => {
  test("prefetch runs at most PROBES_IN_FLIGHT gets at once, and lookup takes the prefetched answer", async () => {
    const s = slowStore(20);
    const cache = new StepCache(s.store, settings);
    const keys = Array.from({ length: 30 }, (_, i) => key(i));
    cache.prefetch(keys);
    for (const k of keys) expect(await cache.lookup(k)).toBeUndefined();
    expect(s.peak()).toBe(PROBES_IN_FLIGHT);
    expect(s.seen).toHaveLength(30); // no key asked twice
  });

  test("a poisoned key is a miss without asking the store", async () => {
    const s = slowStore(1);
    const cache = new StepCache(s.store, settings);
    cache.poison(key(1), "its cached layer failed verification");
    expect(await cache.lookup(key(1))).toBeUndefined();
    expect(s.seen).toEqual([]);
    expect(cache.poisoned(key(1))).toBe("its cached layer failed verification");
  });
});

describe("corruptLayerOf", () => {
  const err = (code: string, fields: Record<string, unknown>, cause?: unknown) =>
    Object.assign(new Error(code, cause ? { cause } : undefined), { code, ...fields });
  test("names the layer of a digest, size or diff_id mismatch, also through a wrapper", () => {
    expect(corruptLayerOf(err("MOLT_DIGEST_MISMATCH", { expected: "sha256:a" }))).toBe("sha256:a");
    expect(corruptLayerOf(err("MOLT_BLOB_SIZE_MISMATCH", { digest: "sha256:b" }))).toBe("sha256:b");
    expect(corruptLayerOf(err("MOLT_DIFFID_MISMATCH", { layer: "sha256:c" }))).toBe("sha256:c");
    const wrapped = err(
      "MOLT_EXTRACT_FAILED",
      { layer: "sha256:d" },
      err("MOLT_DIGEST_MISMATCH", { expected: "sha256:d" }),
    );
    expect(corruptLayerOf(wrapped)).toBe("sha256:d");
    expect(corruptLayerOf(err("MOLT_EXTRACT_FAILED", { layer: "sha256:e" }))).toBe("sha256:e");
  });
  test("a system error (full disk), a limit or an unrelated error is not corruption", () => {
    const enospc = Object.assign(new Error("no space"), { code: "ENOSPC", syscall: "write" });
    expect(corruptLayerOf(err("MOLT_EXTRACT_FAILED", { layer: "sha256:e" }, enospc))).toBeUndefined();
    expect(corruptLayerOf(err("MOLT_EXTRACT_LIMIT", { layer: "sha256:f" }))).toBeUndefined();
    expect(corruptLayerOf(new Error("boom"))).toBeUndefined();
  });
});
