import { createHash, type Hash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import type { Readable } from "node:stream";
import { DigestMismatchError } from "@molt/oci";
import createDebug from "debug";
import { Baseline, type BaselineEntry, entryFromStat, msFromNs, type NodeType } from "./baseline.js";
import { ByteReader } from "./byte-reader.js";
import { type Compression, openDecompressed } from "./decompress.js";
import { type DeviceNode, makeDeviceNodes } from "./devices.js";
import {
  DiffIdMismatchError,
  ExtractError,
  ExtractLimitError,
  type ExtractLimitKind,
  throwIfAborted,
  UnsafePathError,
} from "./errors.js";
import { FileWriteError, FileWriter, WRITER_MAX_FILE, type WrittenFile } from "./file-writer.js";
import { hasher } from "./hash.js";
import { layerStreamError } from "./layer-stream-error.js";
import { abs, baselineLookup, cleanPath, type Lookup, resolveWith } from "./paths.js";
import { scanTree } from "./scan.js";
import { type TarHeader, TarReader } from "./tar-reader.js";
import { writeXattrs } from "./xattrs.js";
import type { Xxh64 } from "./xxh64.js";

const debug = createDebug("molt:snapshot");

/** A layer to apply: something that can open its (compressed or plain) tar bytes. */
export interface LayerSource {
  /** Opens the layer's bytes; called once. gzip, zstd and plain tar are told apart by content. */
  open(): Promise<Readable> | Readable;
  /** `sha256:<hex>` of the bytes `open()` yields; when given it is verified while streaming. */
  digest?: string;
  /** The layer's media type (informational: compression is detected from the bytes). */
  mediaType?: string;
  /**
   * `sha256:<hex>` of the uncompressed tar (the image config's `rootfs.diff_ids` entry); when
   * given it is verified while extracting and a mismatch fails with {@link DiffIdMismatchError}.
   */
  diffId?: string;
}

/** Progress of {@link extract}. */
export type ExtractProgressEvent =
  | { type: "molt:snapshot:extract-start"; index: number; digest?: string; compression: Compression }
  | { type: "molt:snapshot:extract-progress"; index: number; entries: number; bytes: number }
  | { type: "molt:snapshot:extract-done"; index: number; entries: number; bytes: number };

/** Options of {@link extract}. */
export interface ExtractOptions {
  signal?: AbortSignal;
  /** Receives each layer's start, progress and end. */
  onProgress?: (e: ExtractProgressEvent) => void;
  /**
   * The exact index of what `root` already holds (e.g. from an earlier `extract`). It is updated
   * in place and returned. Without it an empty root starts an empty index and a non-empty root is
   * scanned first.
   */
  baseline?: Baseline;
  /** Device nodes and FIFOs: create them (default), skip them silently, or fail with {@link UnsafePathError}. */
  devices?: "create" | "skip" | "error";
  /** Apply numeric owners from the headers (default: when running as root). */
  preserveOwner?: boolean;
  /** Hash regular files' content into the baseline with xxh64 (default true; lets walk mode tell content changes when only ctime moved). */
  hash?: boolean;
  /** Limits over the whole call, against tar bombs (none by default; see {@link DEFAULT_EXTRACT_LIMITS}). */
  limits?: ExtractLimits;
  /**
   * Entries this call creates on the calling thread before it starts one helper thread and, once
   * that runs, hands it what it creates (files up to 4 MiB, directories, symlinks) to make in tar
   * order, so the kernel's work overlaps the tar parsing (default 1000, so small layers start no
   * thread; 0: from the first entry, waiting for the thread; `Infinity`: never). The tree and the
   * returned baseline are the same either way.
   */
  threadAfter?: number;
}

/** Caps on what one {@link extract} call may write; a missing field is no cap. */
export interface ExtractLimits {
  /** Entries (files, directories, links...) over all layers of the call. */
  entries?: number;
  /** Bytes of regular-file content over all layers of the call. */
  bytes?: number;
  /** Bytes of one regular file. */
  fileBytes?: number;
}

/**
 * Generous defaults for untrusted images, far above real ones (a Debian image holds ~7,000
 * entries and 200 MB; large CUDA images stay under 1M entries and 20 GiB), so only a bomb hits
 * them: 64 GiB in total, 16 GiB in one file, 10 million entries.
 */
export const DEFAULT_EXTRACT_LIMITS: Readonly<Required<ExtractLimits>> = Object.freeze({
  entries: 10_000_000,
  bytes: 64 * 1024 ** 3,
  fileBytes: 16 * 1024 ** 3,
});

/** Skips an entry's body: at once when it is buffered (undefined), else a promise. */
function skipEntryBody(reader: ByteReader, size: number): Promise<void> | undefined {
  return size === 0 || reader.skipBuffered(size) ? undefined : reader.skip(size);
}

/** Passes `bytes` through, hashing every chunk into `hash`. */
async function* hashing(bytes: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const b of bytes) {
    hash.update(b);
    yield b;
  }
}

const O_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The process's umask from /proc/self/status (`Umask:` line), or `undefined` where it cannot be
 * read: a file whose mode the umask leaves whole is then created with its mode (no fchmod).
 */
function currentUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync("/proc/self/status", "latin1"));
    return m ? Number.parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

const parentRel = (p: string) => {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
};

/**
 * Default of {@link ExtractOptions.threadAfter}: small layers never start the writer thread. Its
 * boot costs 40-80 ms of CPU (more on a loaded machine), while this thread makes a few hundred
 * entries in that time (busybox, 278 entries: 31 ms of CPU in all), so below about a thousand
 * entries the thread cannot win back its start (issue 16: the busybox layer took 75 ms with the
 * thread from entry 64, 48 ms without it; a 7,000-entry Debian layer starts it either way, and
 * its time did not move beyond the noise of interleaved rounds).
 */
const THREAD_AFTER = 1000;

interface DirMeta {
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
}

/**
 * The baseline record of an entry that is queued but not made yet (for the writer thread or
 * the next settle): what the header says, no inode, no ctime. Replaced by the entry's own stat
 * once it is made (or, for a directory, at the layer's end).
 */
function placeholder(
  type: NodeType,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtimeNs: bigint,
  nlink: number,
): BaselineEntry {
  return { type, mode, uid, gid, size, mtimeNs, ctimeNs: 0n, ctimeMs: 0, ino: 0n, nlink };
}

/** Applies layers to one root; one instance per {@link extract} call. */
class Extractor {
  readonly lookup: Lookup;
  readonly owner: boolean;
  readonly umask: number | undefined;
  readonly ids: { uid: number; gid: number };
  entries = 0;
  bytes = 0;
  // Per layer:
  layerSet = new Set<string>();
  dirMeta = new Map<string, DirMeta>();
  pendingXattrs = new Map<string, { stamp: number; xattrs: Record<string, Buffer> }>();
  touchedDirs = new Set<string>();
  linked = new Set<string>();
  /** Creates (small files, directories, symlinks) are made by this helper thread, in order (see file-writer.ts). */
  readonly writer = new FileWriter();
  /** Device nodes and FIFOs to make at the next {@link settle}. */
  devices: Array<{ node: DeviceNode; rel: string; h: TarHeader; stamp: number | undefined }> = [];
  /** The layer being applied (for limit errors). */
  current: { index: number; digest?: string | undefined } = { index: 0 };

  constructor(
    readonly root: string,
    readonly baseline: Baseline,
    readonly options: ExtractOptions,
    readonly xx: Xxh64 | undefined,
  ) {
    this.lookup = baselineLookup(baseline);
    this.owner = options.preserveOwner ?? process.getuid?.() === 0;
    this.umask = currentUmask();
    this.ids = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
  }

  /**
   * Fewer syscalls per file (issue 16: extraction at least as fast as `tar -xzf`): the mode a
   * file is created with, when open's mode is already the final one (no setuid/setgid/sticky
   * bit, none the umask clears, a parent without xattrs such as a default ACL that would mask
   * it instead), else `undefined` (created 0600, then fchmod as before).
   */
  createMode(parent: string, mode: number): number | undefined {
    if (this.umask === undefined || (mode & 0o7000) !== 0 || (mode & this.umask) !== 0) return undefined;
    return this.baseline.typeOf(parent) === "directory" &&
      !this.baseline.hasXattrs(parent) &&
      this.baseline.xattrsKnown
      ? mode & 0o777
      : undefined;
  }

  /** The owner a created entry gets: the header's when owners are applied, else ours. */
  uidOf(h: TarHeader): number {
    return this.owner ? h.uid : this.ids.uid;
  }

  gidOf(h: TarHeader): number {
    return this.owner ? h.gid : this.ids.gid;
  }

  /** Whether a new file in `parent` is already owned by `uid`:`gid` (ours, and no setgid parent to pass its group on). */
  ownedAlready(parent: string, uid: number, gid: number): boolean {
    if (uid !== this.ids.uid || gid !== this.ids.gid) return false;
    return this.baseline.typeOf(parent) === "directory" && (this.baseline.modeOf(parent)! & 0o2000) === 0;
  }

  async layer(index: number, source: LayerSource): Promise<void> {
    const { signal, onProgress } = this.options;
    throwIfAborted(signal);
    this.current = { index, digest: source.digest };
    this.lastDir = undefined;
    const stream = await source.open();
    const opened = await openDecompressed(stream, source.digest?.startsWith("sha256:") ?? false);
    const onAbort = () => opened.destroy();
    signal?.addEventListener("abort", onAbort, { once: true });
    onProgress?.({
      type: "molt:snapshot:extract-start",
      index,
      digest: source.digest,
      compression: opened.compression,
    });
    const tarHash = source.diffId !== undefined ? createHash("sha256") : undefined;
    const reader = new ByteReader(tarHash ? hashing(opened.bytes, tarHash) : opened.bytes);
    const tar = new TarReader(reader);
    // threadAfter 0: every create on the thread, so wait for it to run (tests use this).
    if (this.options.threadAfter === 0) await this.writer.whenOnline();
    let count = 0;
    let name = "";
    try {
      for (;;) {
        throwIfAborted(signal);
        const h = await tar.next();
        if (h === null) break;
        name = h.name;
        count++;
        this.entries++;
        const max = this.options.limits?.entries;
        if (max !== undefined && this.entries > max) this.limitReached("entries", max, h.name);
        await this.apply(h, reader);
        if (!tar.finishBuffered()) await tar.finishEntry();
        if (count % 1000 === 0)
          onProgress?.({ type: "molt:snapshot:extract-progress", index, entries: count, bytes: this.bytes });
      }
      name = "";
      await reader.drain();
      await this.endLayer();
    } catch (e) {
      opened.destroy();
      if (e instanceof FileWriteError) name = e.entry;
      throw layerStreamError(
        e,
        { verb: "apply", name, layer: source.digest, signal },
        (x) => x instanceof UnsafePathError || x instanceof ExtractLimitError || x instanceof ExtractError,
      );
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    const got = opened.digest();
    if (got !== undefined && source.digest !== undefined && got !== source.digest) {
      throw new DigestMismatchError(source.digest, got, "layer");
    }
    if (tarHash && source.diffId !== undefined) {
      const diffId = `sha256:${tarHash.digest("hex")}`;
      if (diffId !== source.diffId)
        throw new DiffIdMismatchError(index, source.digest, source.diffId, diffId);
    }
    onProgress?.({ type: "molt:snapshot:extract-done", index, entries: count, bytes: this.bytes });
  }

  limitReached(limit: ExtractLimitKind, max: number, entry: string): never {
    const where = { entry, index: this.current.index };
    throw new ExtractLimitError(
      limit,
      max,
      this.current.digest ? { ...where, layer: this.current.digest } : where,
    );
  }

  /**
   * The last directory {@link ensureDir} resolved (tar entries come a directory at a time, so
   * most entries repeat it): its path as written and as resolved. Forgotten whenever the tree's
   * shape may change (anything removed, a symlink or any non-file entry written).
   */
  lastDir: { written: string; resolved: string } | undefined;

  /** Resolves a directory path (following symlinks inside the root) and creates what is missing. */
  ensureDir(dirPart: string, name: string): string {
    if (this.lastDir?.written === dirPart) return this.lastDir.resolved;
    const resolved = this.resolveDir(dirPart, name);
    this.lastDir = { written: dirPart, resolved };
    return resolved;
  }

  resolveDir(dirPart: string, name: string): string {
    const rel = resolveWith(this.lookup, dirPart, true);
    if (rel === "") return "";
    let cur = "";
    for (const c of rel.split("/")) {
      cur = cur === "" ? c : `${cur}/${c}`;
      const e = this.baseline.typeOf(cur);
      if (e === undefined) {
        this.makeDir(cur, 0o755, name);
        this.touchedDirs.add(parentRel(cur));
        this.touchedDirs.add(cur);
      } else if (e !== "directory") {
        throw new UnsafePathError(name, `parent "${cur}" is not a directory`);
      }
    }
    return rel;
  }

  /** Removes `rel` from disk and the baseline; files still queued for the writer are written first. */
  async remove(rel: string): Promise<void> {
    this.lastDir = undefined;
    if (rel === "" || this.baseline.typeOf(rel) === undefined) return;
    await this.settle();
    const e = this.baseline.typeOf(rel); // a queued device node that could not be made is gone
    if (e === undefined) return;
    const p = abs(this.root, rel);
    if (e === "directory") rmSync(p, { recursive: true, force: true });
    else unlinkSync(p);
    this.baseline.delete(rel);
    this.touchedDirs.add(parentRel(rel));
  }

  async opaque(dir: string): Promise<void> {
    if (this.baseline.typeOf(dir) !== "directory") return;
    for (const name of this.baseline.childNames(dir)) {
      const child = dir === "" ? name : `${dir}/${name}`;
      if (!this.layerSet.has(child)) await this.remove(child);
      else if (this.baseline.typeOf(child) === "directory") await this.opaque(child);
    }
  }

  async apply(h: TarHeader, reader: ByteReader): Promise<void> {
    // Only a regular file keeps the tree's shape for the next entry's directory lookup.
    if (h.type === "file") return this.applyEntry(h, reader);
    this.lastDir = undefined;
    try {
      return await this.applyEntry(h, reader);
    } finally {
      this.lastDir = undefined;
    }
  }

  async applyEntry(h: TarHeader, reader: ByteReader): Promise<void> {
    const name = cleanPath(h.name);
    const skipBody = () => skipEntryBody(reader, h.size);
    if (name === "") {
      if (h.type === "directory") this.dirMeta.set("", h);
      return skipBody();
    }
    const slash = name.lastIndexOf("/");
    const dirPart = slash < 0 ? "" : name.slice(0, slash);
    const base = slash < 0 ? name : name.slice(slash + 1);
    if (base.startsWith(".wh.")) {
      await skipBody();
      const dir = resolveWith(this.lookup, dirPart, true);
      if (base === ".wh..wh..opq") {
        await this.opaque(dir);
      } else {
        const target = dir === "" ? base.slice(4) : `${dir}/${base.slice(4)}`;
        if (!this.layerSet.has(target) && this.baseline.typeOf(dir) === "directory")
          await this.remove(target);
      }
      return;
    }
    const parent = this.ensureDir(dirPart, h.name);
    const rel = parent === "" ? base : `${parent}/${base}`;
    const p = abs(this.root, rel);
    const existing = this.baseline.typeOf(rel);
    this.touchedDirs.add(parent);
    this.layerSet.add(rel);
    switch (h.type) {
      case "directory": {
        await skipBody();
        if (existing !== "directory") {
          if (existing) await this.remove(rel);
          this.makeDir(rel, 0o700, h.name);
        }
        this.touchedDirs.add(rel);
        this.dirMeta.set(rel, h);
        if (Object.keys(h.xattrs).length > 0) {
          this.pendingXattrs.set(rel, { stamp: this.baseline.stamp(rel)!, xattrs: h.xattrs });
        }
        return;
      }
      case "file": {
        // Checked from the header, before anything is written: a bomb's file never lands.
        const { bytes: maxBytes, fileBytes: maxFile } = this.options.limits ?? {};
        if (maxFile !== undefined && h.size > maxFile) this.limitReached("fileBytes", maxFile, h.name);
        if (maxBytes !== undefined && this.bytes + h.size > maxBytes)
          this.limitReached("bytes", maxBytes, h.name);
        if (existing) await this.remove(rel);
        const createMode = this.createMode(parent, h.mode);
        const chown = this.owner && !this.ownedAlready(parent, h.uid, h.gid);
        if (this.threaded && h.size <= WRITER_MAX_FILE) {
          return this.queueFile(h, reader, { rel, p, createMode, chown });
        }
        await this.settle();
        const fd = openSync(p, O_CREATE, createMode ?? 0o600);
        let st: import("node:fs").BigIntStats;
        let hash: bigint | undefined;
        try {
          const x = this.options.hash === false ? undefined : this.xx?.create();
          for await (const chunk of reader.chunks(h.size)) {
            writeAll(fd, chunk);
            x?.update(chunk);
          }
          hash = x?.digest();
          this.bytes += h.size;
          if (chown) fchownSync(fd, h.uid, h.gid);
          if (createMode === undefined) fchmodSync(fd, h.mode);
          const t = nsToSeconds(h.mtimeNs);
          futimesSync(fd, t, t);
          st = fstatSync(fd, { bigint: true });
        } finally {
          closeSync(fd);
        }
        const entry = entryFromStat(st, { xattrs: h.xattrs, hash });
        this.baseline.set(rel, entry);
        if (entry.xattrs) this.pendingXattrs.set(rel, { stamp: this.baseline.stamp(rel)!, xattrs: h.xattrs });
        return;
      }
      case "symlink": {
        await skipBody();
        if (existing) await this.remove(rel);
        const t = nsToSeconds(h.mtimeNs);
        if (this.threaded) return this.queueSymlink(h, rel, p, t);
        symlinkSync(h.linkname, p);
        if (this.owner) lchownSync(p, h.uid, h.gid);
        lutimesSync(p, t, t);
        this.baseline.set(rel, entryFromStat(lstatSync(p, { bigint: true }), { linkTarget: h.linkname }));
        return;
      }
      case "hardlink": {
        await skipBody();
        // The target's final stat, and the target itself on disk.
        await this.settle();
        const target = resolveWith(this.lookup, cleanPath(h.linkname), false);
        const te = this.baseline.get(target);
        if (te === undefined) {
          throw new ExtractError(`hardlink "${h.name}" points to "${h.linkname}", which is not in the root`, {
            entry: h.name,
          });
        }
        if (te.type === "directory") throw new UnsafePathError(h.name, "hardlink to a directory");
        if (target === rel) return;
        if (existing) await this.remove(rel);
        linkSync(abs(this.root, target), p);
        this.linked.add(target);
        this.linked.add(rel);
        const st = lstatSync(p, { bigint: true });
        this.baseline.set(rel, entryFromStat(st, te));
        return;
      }
      case "char":
      case "block":
      case "fifo": {
        await skipBody();
        const policy = this.options.devices ?? "create";
        if (policy === "error") throw new UnsafePathError(h.name, `${h.type} device entries are not allowed`);
        if (policy === "skip") {
          this.layerSet.delete(rel);
          return;
        }
        if (existing) await this.remove(rel);
        this.queueDevice(h, rel, p);
        return;
      }
      default:
        debug("skipping tar entry %s of unsupported type '%s'", h.name, h.typeflag);
        this.layerSet.delete(rel);
        return skipBody();
    }
  }

  /**
   * Whether creates go to the writer thread: once this call is past its first
   * {@link ExtractOptions.threadAfter} entries and the thread runs. Past that count the thread is
   * started, and until it has booted this thread keeps creating (nothing is queued before, so the
   * order of creates holds; once true it stays true).
   */
  get threaded(): boolean {
    if (this.entries <= (this.options.threadAfter ?? THREAD_AFTER)) return false;
    if (this.writer.online) return true;
    this.writer.start();
    return false;
  }

  /**
   * Waits until the writer thread has made everything queued, then makes the queued device
   * nodes (before the main thread touches the tree itself).
   */
  async settle(): Promise<void> {
    if (this.writer.busy) await this.writer.drain();
    if (this.devices.length > 0) await this.makeDevices();
  }

  /**
   * A device node or FIFO, made at the next {@link settle} together with the others queued by
   * then (one process for all, see devices.ts). Until then its baseline entry is the header's;
   * nothing reads the path before the next settle (removals, hard links and the layer's end
   * settle first, and a device can be no entry's parent).
   */
  queueDevice(h: TarHeader, rel: string, p: string): void {
    const type = h.type as DeviceNode["type"];
    this.baseline.set(rel, placeholder(type, h.mode & 0o7777, this.uidOf(h), this.gidOf(h), 0, h.mtimeNs, 1));
    this.devices.push({
      node: { path: p, type, mode: h.mode, major: h.devMajor, minor: h.devMinor },
      rel,
      h,
      stamp: this.baseline.stamp(rel),
    });
  }

  /** Makes the queued device nodes: one `sh` for all, then owner, mode and times as before. */
  async makeDevices(): Promise<void> {
    const queued = this.devices;
    this.devices = [];
    const { made, stderr } = await makeDeviceNodes(queued.map((d) => d.node));
    for (const [i, { node, rel, h, stamp }] of queued.entries()) {
      if (this.baseline.stamp(rel) !== stamp) continue;
      if (!made[i]) {
        debug("mknod %s failed (%s): skipped", rel, stderr.trim());
        this.baseline.delete(rel);
        this.layerSet.delete(rel);
        continue;
      }
      if (this.owner) lchownSync(node.path, h.uid, h.gid);
      chmodSync(node.path, h.mode);
      const t = nsToSeconds(h.mtimeNs);
      lutimesSync(node.path, t, t);
      this.baseline.set(rel, entryFromStat(lstatSync(node.path, { bigint: true })));
    }
  }

  /**
   * Creates directory `rel` (its parent exists) and records it. Through the writer thread the
   * entry is what `mkdir` makes (mode less the umask, the parent's setgid bit and group passed
   * on); the layer's end re-reads every directory it touched from disk anyway.
   */
  makeDir(rel: string, mode: number, entry: string): void {
    const p = abs(this.root, rel);
    if (!this.threaded) {
      mkdirSync(p, mode);
      this.baseline.set(rel, entryFromStat(lstatSync(p, { bigint: true })));
      return;
    }
    this.writer.mkdir(p, mode, entry);
    const parent = this.baseline.get(parentRel(rel));
    const setgid = parent !== undefined && (parent.mode & 0o2000) !== 0;
    const made = (mode & ~(this.umask ?? 0)) | (setgid ? 0o2000 : 0);
    const gid = setgid ? parent.gid : this.ids.gid;
    this.baseline.set(rel, placeholder("directory", made, this.ids.uid, gid, 0, 0n, 2));
  }

  /** A symlink made by the writer thread; recorded from its `lstat` once made. */
  async queueSymlink(h: TarHeader, rel: string, p: string, t: number): Promise<void> {
    const link = placeholder("symlink", 0o777, this.uidOf(h), this.gidOf(h), 0, h.mtimeNs, 1);
    link.linkTarget = h.linkname;
    this.baseline.set(rel, link);
    const stamp = this.baseline.stamp(rel);
    this.writer.symlink({
      path: p,
      entry: h.name,
      target: h.linkname,
      uid: this.owner ? h.uid : -1,
      gid: this.owner ? h.gid : -1,
      mtime: t,
      done: (st) => {
        if (this.baseline.stamp(rel) !== stamp) return;
        this.baseline.set(rel, {
          type: "symlink",
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          size: 0,
          mtimeNs: st.mtimeNs,
          ctimeNs: st.ctimeNs,
          ctimeMs: msFromNs(st.ctimeNs),
          ino: st.ino,
          nlink: st.nlink,
          linkTarget: h.linkname,
        });
      },
    });
    await this.writer.room();
  }

  /**
   * A small regular file, read whole, handed to the writer thread. Its baseline entry is recorded
   * now from the header (type, mode, owner, size, mtime, hash: what the rest of the layer may ask)
   * and replaced by the written file's `fstat` when the thread reports it.
   */
  async queueFile(
    h: TarHeader,
    reader: ByteReader,
    at: { rel: string; p: string; createMode: number | undefined; chown: boolean },
  ): Promise<void> {
    const xx = this.options.hash === false ? undefined : this.xx;
    let chunks: Buffer[];
    let hash: bigint | undefined;
    // The usual small file: its body is already buffered, one slice, hashed in one call (issue
    // 16: no generator, promises or hash state per file; the same xxh64).
    const whole = reader.take(h.size);
    if (whole !== undefined) {
      chunks = [whole];
      hash = xx?.h64(whole);
    } else {
      const x = xx?.create();
      chunks = [];
      for await (const chunk of reader.chunks(h.size)) {
        chunks.push(chunk);
        x?.update(chunk);
      }
      hash = x?.digest();
    }
    this.bytes += h.size;
    const { rel } = at;
    const uid = at.chown ? h.uid : this.ids.uid;
    const gid = at.chown ? h.gid : this.ids.gid;
    const provisional = placeholder("file", h.mode, uid, gid, h.size, h.mtimeNs, 1);
    if (hash !== undefined) provisional.hash = hash;
    this.baseline.set(rel, provisional);
    const stamp = this.baseline.stamp(rel);
    const t = nsToSeconds(h.mtimeNs);
    this.writer.file(
      {
        path: at.p,
        entry: h.name,
        createMode: at.createMode ?? 0o600,
        chmod: at.createMode === undefined ? h.mode : -1,
        uid: at.chown ? h.uid : -1,
        gid: at.chown ? h.gid : -1,
        mtime: t,
        done: (st) => this.written(rel, stamp, st, h.xattrs, hash),
      },
      chunks,
      h.size,
    );
    if (!this.writer.hasRoom) await this.writer.room();
  }

  /** Records a file the writer thread wrote, unless the path was written again since. */
  written(
    rel: string,
    stamp: number | undefined,
    st: WrittenFile,
    xattrs: Record<string, Buffer>,
    hash: bigint | undefined,
  ): void {
    if (this.baseline.stamp(rel) !== stamp) return;
    const entry: BaselineEntry = {
      type: "file",
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      ctimeMs: msFromNs(st.ctimeNs),
      ino: st.ino,
      nlink: st.nlink,
    };
    if (Object.keys(xattrs).length > 0) entry.xattrs = xattrs;
    if (hash !== undefined) entry.hash = hash;
    this.baseline.set(rel, entry);
    if (entry.xattrs) this.pendingXattrs.set(rel, { stamp: this.baseline.stamp(rel)!, xattrs });
  }

  /** Stops the writer thread (after which nothing more is written). */
  close(): Promise<void> {
    return this.writer.close();
  }

  async endLayer(): Promise<void> {
    await this.settle();
    // Directory metadata last (children changed their mtimes), deepest first.
    const dirs = [...this.dirMeta.keys()].sort((a, b) => b.length - a.length);
    for (const rel of dirs) {
      if (this.baseline.typeOf(rel) !== "directory") continue; // replaced later in the layer
      const m = this.dirMeta.get(rel)!;
      const p = abs(this.root, rel);
      if (this.owner) lchownSync(p, m.uid, m.gid);
      chmodSync(p, m.mode);
      const t = nsToSeconds(m.mtimeNs);
      lutimesSync(p, t, t);
    }
    const items: Array<{ path: string; xattrs: Record<string, Buffer> }> = [];
    for (const [rel, { stamp, xattrs }] of this.pendingXattrs) {
      if (this.baseline.stamp(rel) !== stamp) continue; // replaced or removed since
      items.push({ path: abs(this.root, rel), xattrs });
    }
    await writeXattrs(items);
    // Refresh what later operations touched (ctime, nlink, mtime of parents).
    const refresh = new Set<string>([...this.touchedDirs, ...this.pendingXattrs.keys(), ...this.linked]);
    for (const rel of refresh) {
      const e = this.baseline.get(rel);
      if (!e) continue;
      const st = lstatSync(abs(this.root, rel), { bigint: true });
      this.baseline.set(rel, entryFromStat(st, e));
    }
    this.layerSet = new Set();
    this.dirMeta = new Map();
    this.pendingXattrs = new Map();
    this.touchedDirs = new Set();
    this.linked = new Set();
  }
}

/**
 * Applies image layers, in order, to the directory `root` (created if missing), streaming each
 * one with no temporary copy. gzip, zstd and plain tars are detected by content. OCI whiteouts
 * (`.wh.name`) delete, opaque markers (`.wh..wh..opq`) hide what lower layers put in a directory,
 * and a later layer can replace a directory with a file or symlink and back.
 *
 * Safety: every entry name and hardlink target is cleaned as the container sees it from `/`
 * (`..` stops at the root, absolute names are relative to it) and every parent is resolved
 * through symlinks *inside* the root, so an entry can never be written outside it, not even
 * through a symlink planted by an earlier entry or layer. Files are created with
 * `O_EXCL|O_NOFOLLOW`. The root must not be changed by anyone else while this runs.
 *
 * Returns the {@link Baseline} of the resulting tree, recorded while extracting.
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * const baseline = await extract([{ open: () => createReadStream("layer.tar.gz") }], "/tmp/rootfs");
 * ```
 * @throws {UnsafePathError} for a symlink loop, a hardlink to a directory or a forbidden device.
 * @throws {ExtractError} for a corrupt tar or an I/O failure (the root is then partly written).
 */
export async function extract(
  layers: Iterable<LayerSource> | AsyncIterable<LayerSource>,
  root: string,
  options: ExtractOptions = {},
): Promise<Baseline> {
  throwIfAborted(options.signal);
  const rootAbs = cleanRoot(root);
  mkdirSync(abs(rootAbs, ""), { recursive: true });
  let baseline = options.baseline;
  if (!baseline) {
    if (readdirSync(abs(rootAbs, "")).length === 0) {
      baseline = new Baseline();
      baseline.set("", entryFromStat(lstatSync(rootAbs, { bigint: true })));
    } else {
      debug("extract: %s is not empty and no baseline was given: scanning it first", rootAbs);
      baseline = await scanTree(rootAbs, { signal: options.signal });
    }
  }
  const xx = options.hash === false ? undefined : await hasher();
  const ex = new Extractor(rootAbs, baseline, options, xx);
  try {
    let index = 0;
    for await (const layer of layers) {
      await ex.layer(index++, layer);
    }
  } finally {
    await ex.close();
  }
  return baseline;
}

/**
 * Flattens an image's layers into `dir`, which must be missing or empty: the directory then holds
 * the image's filesystem exactly as a container would see it.
 *
 * @example
 * ```ts
 * await flatten(manifest.layers.map((d) => ({ digest: d.digest, open: () => blobs.open(d.digest) })), "./rootfs");
 * ```
 */
export async function flatten(
  layers: Iterable<LayerSource> | AsyncIterable<LayerSource>,
  dir: string,
  options: Omit<ExtractOptions, "baseline"> = {},
): Promise<Baseline> {
  const rootAbs = abs(cleanRoot(dir), "");
  mkdirSync(rootAbs, { recursive: true });
  if (readdirSync(rootAbs).length > 0) throw new ExtractError(`flatten: "${rootAbs}" is not empty`);
  return extract(layers, rootAbs, options);
}

/** An absolute, normalised root path without a trailing slash. */
export function cleanRoot(root: string): string {
  const r = `/${cleanPath(root.startsWith("/") ? root : `${process.cwd()}/${root}`)}`;
  return r === "/" ? "" : r;
}
