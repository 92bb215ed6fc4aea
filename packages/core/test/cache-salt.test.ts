import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DirectoryLayerCache } from "../src/cache/dir-cache.js";
import { hiddenDigest, instructionDigest, KeySalt } from "../src/cache/key.js";
import { buildSalt } from "../src/cache/salt.js";
import { TieredLayerCache } from "../src/cache/tiered-cache.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-cache-salt-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a salt keys hidden values: different salts, different digests; the same salt, the same digest", () => {
  const a = KeySalt.random();
  const b = KeySalt.random();
  expect(hiddenDigest("arg:TOKEN", "v", a)).toBe(hiddenDigest("arg:TOKEN", "v", KeySalt.of(a.bytes())));
  expect(hiddenDigest("arg:TOKEN", "v", a)).not.toBe(hiddenDigest("arg:TOKEN", "v", b));
  expect(hiddenDigest("arg:TOKEN", "v", a)).not.toBe(hiddenDigest("arg:OTHER", "v", a));
  expect(instructionDigest("RUN echo v", a)).not.toBe(instructionDigest("RUN echo v", b));
  expect(instructionDigest("RUN echo v", a)).toMatch(/^sha256:[0-9a-f]{64}$/);
});

test("a salt never shows its bytes: String, JSON, util.inspect, an error's message", () => {
  const s = KeySalt.random();
  const hex = s.bytes().toString("hex");
  const shown = [
    String(s),
    `${s}`,
    JSON.stringify({ s }),
    inspect(s),
    inspect({ s }),
    new Error(`x ${s}`).message,
  ];
  for (const t of shown) expect(t).not.toContain(hex);
  expect(String(s)).toBe("KeySalt(…)");
});

test("a directory's first salt is written once: concurrent proposals all get the same winner", async () => {
  const d = join(dir, "race");
  const caches = await Promise.all([1, 2, 3, 4].map(() => DirectoryLayerCache.open(d)));
  const proposals = caches.map(() => KeySalt.random().bytes());
  const got = await Promise.all(caches.map((c, i) => c.salt({ propose: proposals[i]! })));
  const winner = Buffer.from(got[0]!).toString("hex");
  for (const g of got) expect(Buffer.from(g!).toString("hex")).toBe(winner);
  expect(proposals.map((p) => p.toString("hex"))).toContain(winner);
  expect((await readFile(join(d, "molt-cache", "salt"), "utf8")).trim()).toBe(winner);
  // A read-only view of it reads, never writes.
  const ro = await DirectoryLayerCache.open(join(dir, "ro"), { readOnly: true });
  expect(await ro.salt({ propose: KeySalt.random().bytes() })).toBeUndefined();
});

test("a tier takes its last store's salt, or else an existing one of another store, and every store adopts it", async () => {
  const first = await DirectoryLayerCache.open(join(dir, "t1"));
  const last = await DirectoryLayerCache.open(join(dir, "t2"));
  const own = await first.salt({ propose: KeySalt.random().bytes() });
  // The last store has none: the first store's salt is kept (its entries stay good).
  const tier = new TieredLayerCache([first, last]);
  const s1 = await buildSalt(tier, { readOnly: false });
  expect(s1.equals(KeySalt.of(own!))).toBe(true);
  expect(Buffer.from((await last.salt({}))!).equals(Buffer.from(own!))).toBe(true);
  // A new first store with its own salt adopts the last store's.
  const fresh = await DirectoryLayerCache.open(join(dir, "t3"));
  await fresh.salt({ propose: KeySalt.random().bytes() });
  const s2 = await buildSalt(new TieredLayerCache([fresh, last]), { readOnly: false });
  expect(s2.equals(s1)).toBe(true);
  expect(Buffer.from((await fresh.salt({}))!).equals(Buffer.from(own!))).toBe(true);
});
