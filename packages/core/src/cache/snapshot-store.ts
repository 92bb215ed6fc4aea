import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import createDebug from "debug";
import { FingerprintTable, type StoredFingerprints } from "./fingerprint-table.js";
import type { LayerFingerprints } from "./layer-delta.js";

const debug = createDebug("molt:cache:snapshot");

/** Default bound of the snapshot store: 10 GiB of extracted files. */
export const DEFAULT_SNAPSHOT_MAX_BYTES = 10 * 1024 ** 3;

/** What a snapshot holds: the root a stage had once these layers were extracted, in order. */
export interface SnapshotMeta {
  /** diff_ids of the layers extracted into `root/`, bottom first. */
  layers: string[];
  /** Fingerprints of the last layer, when it can be replaced by a delta (see `layer-delta.ts`). */
  last?: FingerprintTable | undefined;
  /** Bytes of regular files in `root/` (what the size bound counts). */
  bytes: number;
  created: string;
}

/**
 * A `meta.json` as this store writes it (version 2: the fingerprints as a {@link FingerprintTable})
 * or as earlier builds did (version 1: a path → fingerprint object, still read). `bytes` and
 * `created` are its last keys ({@link storedBytes} reads them from the file's end).
 */
type StoredMeta =
  | { version: 2; layers: string[]; last?: StoredFingerprints; bytes: number; created: string }
  | { version: 1; layers: string[]; last?: LayerFingerprints; bytes: number; created: string };

/** The {@link SnapshotMeta} of a `meta.json`'s text. Throws when it is not one. */
export function metaFromJson(text: string): SnapshotMeta {
  const m = JSON.parse(text) as StoredMeta;
  if ((m.version !== 1 && m.version !== 2) || !Array.isArray(m.layers))
    throw new Error("unknown snapshot format");
  let last: FingerprintTable | undefined;
  if (m.version === 2) last = m.last && FingerprintTable.fromStored(m.last);
  // an earlier build's fingerprints (every one of a tar entry is 65 characters, as a table needs)
  else last = m.last && FingerprintTable.of(m.last);
  return { layers: m.layers, last, bytes: m.bytes, created: m.created };
}

/** The text of `meta`'s `meta.json` (version 2). */
export function metaToJson(meta: SnapshotMeta): string {
  const stored: StoredMeta = {
    version: 2,
    layers: meta.layers,
    ...(meta.last ? { last: meta.last.toStored() } : {}),
    bytes: meta.bytes,
    created: meta.created,
  };
  return JSON.stringify(stored);
}

/** A snapshot held by one build alone: its directory is out of the store while held. */
export interface HeldSnapshot {
  /** The directory holding `root/` (read-only while held: a build mounts it as an overlay's lower layer). */
  readonly dir: string;
  readonly root: string;
  readonly meta: SnapshotMeta;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** How much of a `meta.json` {@link storedBytes} reads first: its `bytes` and `created` fields end it. */
const TAIL = 256;
/** The end of a `meta.json` as {@link SnapshotStore.release} writes it (`bytes` and `created` are its last keys). */
const TAIL_FIELDS = /,"bytes":(\d+),"created":"[0-9TZ:.+-]*"\}$/;

/**
 * The `bytes` of a stored snapshot's `meta.json`. Read from the file's last bytes: the meta of a
 * snapshot holds the fingerprints of its last layer (a 20,000-file COPY makes it ~2 MB), which the
 * size bound does not need; a file that does not end as this store writes it is parsed whole.
 * Throws when the file is gone or unreadable.
 */
async function storedBytes(file: string): Promise<number> {
  const fh = await open(file, "r");
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - TAIL);
    const tail = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(tail, 0, tail.length, start);
    const m = TAIL_FIELDS.exec(tail.toString("latin1", 0, bytesRead));
    if (m) return Number(m[1]);
  } finally {
    await fh.close();
  }
  return (JSON.parse(await readFile(file, "utf8")) as StoredMeta).bytes;
}

/**
 * Extracted roots kept between builds in `<cacheDir>/molt-snapshots/`, one per chain slot (the
 * place on a Dockerfile's chain where a stage's root was materialised, content-independent), so
 * a rebuild that changes one file of a COPY starts from the last build's extracted files instead
 * of writing them all again (BuildKit keeps its snapshots the same way).
 *
 * Never shared writable: a build takes a snapshot out of the store by renaming its directory to
 * a name of its own (`.held-<pid>-…`; rename is atomic, so exactly one build gets it), uses it
 * only as the read-only lower layer of an overlay, and renames it back when the stage is done. A
 * new snapshot is extracted under `.new-<pid>-…` and renamed into place only once complete, with
 * its `meta.json` written last. Directories of processes that are gone (a build killed with
 * SIGKILL) are removed by the next build that opens the store, so a half-written snapshot is never
 * used. The store keeps at most `maxBytes` of files: the least recently used snapshots go first.
 */
export class SnapshotStore {
  readonly dir: string;
  readonly maxBytes: number;

  private constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** Opens (creating) the store under `cacheDir` and removes what dead builds left behind. */
  static async open(cacheDir: string, options: { maxBytes?: number } = {}): Promise<SnapshotStore> {
    const dir = join(cacheDir, "molt-snapshots");
    await mkdir(dir, { recursive: true });
    const store = new SnapshotStore(dir, options.maxBytes ?? DEFAULT_SNAPSHOT_MAX_BYTES);
    await store.collect();
    return store;
  }

  /** The store's name for a chain slot. */
  static idOf(slot: string): string {
    return createHash("sha256").update(`molt-snapshot\0${slot}`).digest("hex").slice(0, 32);
  }

  /** Takes the snapshot of `slot` for this build alone, or undefined when there is none (or another build holds it). */
  async take(slot: string): Promise<HeldSnapshot | undefined> {
    const id = SnapshotStore.idOf(slot);
    const held = join(this.dir, `.held-${process.pid}-${randomBytes(6).toString("hex")}-${id}`);
    try {
      await rename(join(this.dir, id), held);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      throw e;
    }
    try {
      const meta = metaFromJson(await readFile(join(held, "meta.json"), "utf8"));
      debug("took snapshot %s (%d layers)", id, meta.layers.length);
      return { dir: held, root: join(held, "root"), meta };
    } catch (e) {
      debug("snapshot %s unreadable (%s): removed", id, (e as Error).message);
      await rm(held, { recursive: true, force: true });
      return undefined;
    }
  }

  /** A fresh directory for a new snapshot (its `root/` empty), under a name no other build uses. */
  async create(slot: string): Promise<{ dir: string; root: string }> {
    const id = SnapshotStore.idOf(slot);
    const dir = join(this.dir, `.new-${process.pid}-${randomBytes(6).toString("hex")}-${id}`);
    await mkdir(join(dir, "root"), { recursive: true });
    return { dir, root: join(dir, "root") };
  }

  /**
   * Puts a snapshot (taken, or created and complete) back as `slot`'s. With `meta`, it is written
   * first (a created snapshot). A snapshot another build put there meanwhile is replaced: the
   * newest one stays. Then the store is bounded to {@link SnapshotStore.maxBytes}.
   */
  async release(dir: string, slot: string, meta?: SnapshotMeta): Promise<void> {
    const id = SnapshotStore.idOf(slot);
    try {
      if (meta) await writeFile(join(dir, "meta.json"), metaToJson(meta));
      // Newest first in the LRU order: the directory's mtime is its last use.
      const now = new Date();
      await utimes(dir, now, now);
      const target = join(this.dir, id);
      const old = join(this.dir, `.old-${process.pid}-${randomBytes(6).toString("hex")}`);
      await rename(target, old).catch(() => {});
      try {
        await rename(dir, target);
      } catch {
        await rm(dir, { recursive: true, force: true });
      }
      await rm(old, { recursive: true, force: true });
      debug("snapshot %s stored", id);
    } catch (e) {
      debug("snapshot %s not stored: %s", id, (e as Error).message);
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
    await this.bound().catch((e) => debug("bounding the snapshot store failed: %s", (e as Error).message));
  }

  /** Drops a held or new snapshot (its contents may not be what its name says). */
  async discard(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  /** Removes `.new-*`, `.held-*` and `.old-*` directories whose process is gone. */
  async collect(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const m = /^\.(new|held|old)-(\d+)-/.exec(name);
      if (!m) continue;
      const pid = Number(m[2]);
      if (pid === process.pid || alive(pid)) continue;
      debug("removing %s (its build is gone)", name);
      await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }

  /** Evicts the least recently used snapshots until the store holds at most `maxBytes`. */
  async bound(): Promise<void> {
    const all: { name: string; bytes: number; used: number }[] = [];
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(".")) continue;
      try {
        const bytes = await storedBytes(join(this.dir, name, "meta.json"));
        all.push({ name, bytes, used: (await stat(join(this.dir, name))).mtimeMs });
      } catch {
        // another build took it meanwhile
      }
    }
    all.sort((a, b) => a.used - b.used);
    let total = all.reduce((n, s) => n + s.bytes, 0);
    while (all.length > 0 && total > this.maxBytes) {
      const s = all.shift()!;
      const gone = join(this.dir, `.old-${process.pid}-${randomBytes(6).toString("hex")}`);
      // Renamed first: a build that takes it at the same moment keeps it, and we remove nothing.
      if (
        await rename(join(this.dir, s.name), gone).then(
          () => true,
          () => false,
        )
      ) {
        total -= s.bytes;
        debug("evicted snapshot %s (%d bytes)", s.name, s.bytes);
        await rm(gone, { recursive: true, force: true });
      }
    }
  }
}
