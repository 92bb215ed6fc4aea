import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openContext } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { sourceInputs } from "../src/cache/content-digest.js";
import { attachDigestMemo } from "../src/cache/digest-memo.js";
import { SnapshotStore } from "../src/cache/snapshot-store.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-digest-memo-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

/** The key inputs of `COPY files/ …` in a fresh build of `ctx`, with the memo of `cacheDir`. */
async function keyOf(
  ctx: string,
  cacheDir: string,
): Promise<{ inputs: string; file: string | undefined; hits: number }> {
  const context = await openContext(ctx);
  const options = { context: ctx, cache: { stores: [{ type: "directory" as const, path: cacheDir }] } };
  const memo = await attachDigestMemo(options, context);
  const top = (await context.stat("files")) as FileEntry;
  const inputs = await sourceInputs(context, [top]);
  await memo?.save();
  return {
    inputs: JSON.stringify(inputs),
    file: inputs.find((i) => i.name === "file:files/a")?.digest,
    hits: memo?.hits ?? 0,
  };
}

describe("digest memo (--cache-dir)", () => {
  test("an unchanged file is not read again; one rewritten with its size and mtime restored is", async () => {
    const ctx = join(dir, "ctx");
    const cacheDir = join(dir, "cache");
    await mkdir(join(ctx, "files"), { recursive: true });
    await writeFile(join(ctx, "files/a"), "aaaa");
    await writeFile(join(ctx, "files/b"), "bbbb");
    // Old enough not to be "racy": its ctime is what the memo trusts, so wait past the window.
    await new Promise((r) => setTimeout(r, 2100));
    const first = await keyOf(ctx, cacheDir);
    expect(
      (await readdir(join(cacheDir, "molt-digests"))).map((f) => f.replace(/^[0-9a-f]{32}/, "")),
    ).toEqual([".memo", ".memo.pack"]);
    const second = await keyOf(ctx, cacheDir);
    expect(first.hits).toBe(0);
    expect(second.hits).toBe(2);
    expect(second.inputs).toBe(first.inputs);

    // Same size, mtime put back: only the ctime tells; the key must still change.
    const before = await stat(join(ctx, "files/a"));
    await writeFile(join(ctx, "files/a"), "AAAA");
    await utimes(join(ctx, "files/a"), before.atime, before.mtime);
    const third = await keyOf(ctx, cacheDir);
    expect(third.hits).toBe(1);
    expect(third.inputs).not.toBe(first.inputs);
    // The per-file input is over the entry's text, which holds the content digest of "AAAA".
    expect(third.file).not.toBe(first.file);
    expect(third.inputs).toBe((await keyOf(ctx, join(dir, "no-memo"))).inputs);
    expect(sha("AAAA")).not.toBe(sha("aaaa"));
  }, 20_000);

  test("a file changed just after it was hashed (same timestamp tick) is hashed again", async () => {
    const ctx = join(dir, "ctx");
    const cacheDir = join(dir, "cache");
    await mkdir(join(ctx, "files"), { recursive: true });
    await writeFile(join(ctx, "files/a"), "aaaa");
    const first = await keyOf(ctx, cacheDir);
    const t = await stat(join(ctx, "files/a"));
    await writeFile(join(ctx, "files/a"), "AAAA");
    await utimes(join(ctx, "files/a"), t.atime, t.mtime);
    const second = await keyOf(ctx, cacheDir);
    expect(second.inputs).not.toBe(first.inputs);
  });
});

describe("digest memo bytes", () => {
  test("a small file's bytes are given back only after a hit in this build, and not from a pack that does not match the memo", async () => {
    const ctx = join(dir, "ctx");
    const cacheDir = join(dir, "cache");
    await mkdir(join(ctx, "files"), { recursive: true });
    await writeFile(join(ctx, "files/a"), "aaaa");
    await writeFile(join(ctx, "files/big"), "b".repeat(20_000));
    await new Promise((r) => setTimeout(r, 2100));
    await keyOf(ctx, cacheDir);
    const options = { context: ctx, cache: { stores: [{ type: "directory" as const, path: cacheDir }] } };
    const memo = (await attachDigestMemo(options, await openContext(ctx)))!;
    const a = join(ctx, "files/a");
    expect(memo.bytesOf(a)).toBeUndefined();
    expect(memo.lookup(a)).toBe(sha("aaaa"));
    expect(memo.bytesOf(a)?.toString()).toBe("aaaa");
    expect(memo.lookup(join(ctx, "files/big"))).toBeDefined();
    expect(memo.bytesOf(join(ctx, "files/big"))).toBeUndefined();
    expect(memo.bytesTaken).toBe(1);
    await memo.save();

    const packs = (await readdir(join(cacheDir, "molt-digests"))).filter((f) => f.endsWith(".pack"));
    await writeFile(join(cacheDir, "molt-digests", packs[0]!), "xxxx");
    const bad = (await attachDigestMemo(options, await openContext(ctx)))!;
    expect(bad.lookup(a)).toBe(sha("aaaa"));
    expect(bad.bytesOf(a)).toBeUndefined();
  }, 20_000);
});

/**
 * A context of two files, `files/b` with a capability, old enough (2.1 s) for the memo to trust
 * their timestamps, and the cache dir to use with it.
 */
async function capabilityContext(): Promise<{ ctx: string; cacheDir: string }> {
  const ctx = join(dir, "ctx");
  const cacheDir = join(dir, "cache");
  await mkdir(join(ctx, "files"), { recursive: true });
  await writeFile(join(ctx, "files/a"), "aaaa");
  await writeFile(join(ctx, "files/b"), "bbbb");
  execFileSync("setcap", ["cap_net_raw+ep", join(ctx, "files/b")]);
  await new Promise((r) => setTimeout(r, 2100));
  return { ctx, cacheDir };
}

describe("digest memo and file capabilities", () => {
  test("a capability remembered with a digest is kept; setting one (a new ctime) is read again", async () => {
    const { ctx, cacheDir } = await capabilityContext();
    const first = await keyOf(ctx, cacheDir);
    const second = await keyOf(ctx, cacheDir);
    expect(second.hits).toBe(2);
    // b's capability came from the memo (no getfattr of it): the key is the same as a fresh read's.
    expect(second.inputs).toBe(first.inputs);
    expect(second.inputs).toBe((await keyOf(ctx, join(dir, "no-memo-1"))).inputs);
    expect(first.inputs).toContain("src:files");
    // Setting a capability on a: its ctime moves, the memo misses, the capability enters the key.
    execFileSync("setcap", ["cap_net_bind_service+ep", join(ctx, "files/a")]);
    const third = await keyOf(ctx, cacheDir);
    expect(third.hits).toBe(1);
    expect(third.inputs).not.toBe(first.inputs);
    expect(third.inputs).toBe((await keyOf(ctx, join(dir, "no-memo-2"))).inputs);
    // And removing it again too.
    execFileSync("setcap", ["-r", join(ctx, "files/a")]);
    const fourth = await keyOf(ctx, cacheDir);
    expect(fourth.inputs).toBe(first.inputs);
  }, 20_000);
});

describe("DigestMemo.lookupWithCap", () => {
  test("a hit gives the digest and the capability remembered with it; a miss gives nothing", async () => {
    const { ctx, cacheDir } = await capabilityContext();
    await keyOf(ctx, cacheDir);
    const context = await openContext(ctx);
    const options = { context: ctx, cache: { stores: [{ type: "directory" as const, path: cacheDir }] } };
    const memo = (await attachDigestMemo(options, context))!;
    const a = join(ctx, "files/a");
    const b = join(ctx, "files/b");
    const st = (p: string) => lstatSync(p, { bigint: true });
    expect(memo.lookupWithCap(a, st(a))).toEqual({ digest: sha("aaaa"), cap: null });
    // VFS_CAP_REVISION_2 with the effective flag (0x02000001), permitted CAP_NET_RAW (bit 13).
    const cap = memo.lookupWithCap(b, st(b))?.cap;
    expect(cap?.toString("hex")).toBe("0100000200200000000000000000000000000000");
    expect(memo.hits).toBe(2);
    await writeFile(a, "AAAA");
    expect(memo.lookupWithCap(a, st(a))).toBeUndefined();
    expect(memo.lookupWithCap(join(ctx, "files/c"))).toBeUndefined();
    await context.close();
  }, 20_000);
});

describe("snapshot store", () => {
  test("exactly one of two builds takes a snapshot; a dead build's directories are removed on open; the size bound evicts the oldest", async () => {
    const store = await SnapshotStore.open(dir, { maxBytes: 150 });
    const meta = (bytes: number) => ({ version: 1 as const, layers: ["sha256:x"], bytes, created: "" });
    const a = await store.create("slot-a");
    await store.release(a.dir, "slot-a", meta(100));
    const [t1, t2] = await Promise.all([store.take("slot-a"), store.take("slot-a")]);
    expect([t1, t2].filter(Boolean)).toHaveLength(1);
    const held = (t1 ?? t2)!;
    await store.release(held.dir, "slot-a");
    // A second snapshot over the bound: the least recently used one goes.
    await new Promise((r) => setTimeout(r, 20));
    const b = await store.create("slot-b");
    await store.release(b.dir, "slot-b", meta(100));
    const names = (await readdir(join(dir, "molt-snapshots"))).filter((n) => !n.startsWith("."));
    expect(names).toEqual([SnapshotStore.idOf("slot-b")]);
    // A half-made snapshot of a process that is gone (pid 2^22 - 1 is above the default pid_max).
    await mkdir(join(dir, "molt-snapshots", `.new-4194303-abc-${SnapshotStore.idOf("slot-c")}`, "root"), {
      recursive: true,
    });
    await SnapshotStore.open(dir);
    expect((await readdir(join(dir, "molt-snapshots"))).filter((n) => n.startsWith("."))).toEqual([]);
    expect(await store.take("slot-c")).toBeUndefined();
  });
});
