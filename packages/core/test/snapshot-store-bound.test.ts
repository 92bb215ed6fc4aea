import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FingerprintTable } from "../src/cache/fingerprint-table.js";
import { type SnapshotMeta, SnapshotStore } from "../src/cache/snapshot-store.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-snapshot-bound-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const meta = (bytes: number, last?: SnapshotMeta["last"]): SnapshotMeta => ({
  layers: ["sha256:aa"],
  last,
  bytes,
  created: "2026-01-02T03:04:05.678Z",
});

/** Stores a snapshot of `slot` holding `bytes`, its last use `age` seconds ago. */
async function stored(store: SnapshotStore, slot: string, m: SnapshotMeta, age: number) {
  const made = await store.create(slot);
  await store.release(made.dir, slot, m);
  const t = new Date(Date.now() - age * 1000);
  await utimes(join(store.dir, SnapshotStore.idOf(slot)), t, t);
}

const names = async (store: SnapshotStore) =>
  (await readdir(store.dir)).filter((n) => !n.startsWith(".")).sort();

describe("the snapshot store's size bound", () => {
  it("evicts the least recently used snapshots by the bytes their meta.json records", async () => {
    const store = await SnapshotStore.open(dir, { maxBytes: 100 });
    // A big fingerprint table whose paths look like the fields that end the file: only the real end counts.
    const entries: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) entries[`f${i},"bytes":1,"created":"x"}`] = `0${"ab".repeat(32)}`;
    await stored(store, "old", meta(60, FingerprintTable.of({ entries, shadowed: [] })), 30);
    expect(await names(store)).toEqual([SnapshotStore.idOf("old")]);
    await stored(store, "new", meta(50), 10);
    // 60 + 50 > 100: the older one goes, the newer one stays.
    expect(await names(store)).toEqual([SnapshotStore.idOf("new")]);
    await store.bound();
    expect(await names(store)).toEqual([SnapshotStore.idOf("new")]);
  });

  it("reads a meta.json written another way whole (its bytes still count)", async () => {
    const store = await SnapshotStore.open(dir, { maxBytes: 100 });
    // Keys in another order than the store writes them, spaces included.
    const id = SnapshotStore.idOf("foreign");
    await mkdir(join(store.dir, id, "root"), { recursive: true });
    await writeFile(
      join(store.dir, id, "meta.json"),
      JSON.stringify({ bytes: 70, version: 1, layers: [], created: "2026-01-01T00:00:00.000Z" }, null, 1),
    );
    const t = new Date(Date.now() - 60_000);
    await utimes(join(store.dir, id), t, t);
    await store.bound();
    expect(await names(store)).toEqual([id]);
    // 70 + 40 > 100: the foreign one is older and goes.
    await stored(store, "mine", meta(40), 0);
    expect(await names(store)).toEqual([SnapshotStore.idOf("mine")]);
  });

  it("skips a snapshot whose meta.json is gone (another build took it meanwhile)", async () => {
    const store = await SnapshotStore.open(dir, { maxBytes: 10 });
    await mkdir(join(store.dir, "abc", "root"), { recursive: true });
    await store.bound();
    expect(await names(store)).toEqual(["abc"]);
  });
});
