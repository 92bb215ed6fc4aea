import { Worker } from "node:worker_threads";

/**
 * What a layer creates (regular files up to {@link WRITER_MAX_FILE}, directories, symlinks) is
 * made by one helper thread, strictly in tar order (issue 16: on ext4 most of extraction is the
 * kernel allocating inodes, and those creates were the main thread's critical path, one after
 * the other with the tar parsing; two threads creating at once only contend in the allocator,
 * so there is exactly one creating thread). The main thread keeps every decision (path
 * resolution through the baseline, limits, what to chown or chmod) and hands over only "create
 * this absolute path with this content and metadata"; the thread runs exactly the syscalls the
 * main thread ran before, in the same order, with the same `O_EXCL|O_NOFOLLOW` create. The
 * caller drains the writer before anything else touches the tree (removals, hard links, device
 * nodes, big files, directory metadata at the layer's end: see `extract.ts`).
 */

/** What the writer thread reports for a file or symlink it made: `fstat`/`lstat` after the last change. */
export interface WrittenFile {
  ino: bigint;
  nlink: number;
  ctimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
}

/** One regular file to write. */
export interface FileWrite {
  /** Absolute path, already resolved and checked by the caller. */
  path: string;
  /** The tar entry's name, for errors. */
  entry: string;
  /** `open` mode. */
  createMode: number;
  /** `fchmod` to this mode after writing, or -1 for none. */
  chmod: number;
  /** `fchown` to these ids, or -1 for none. */
  uid: number;
  gid: number;
  /** atime and mtime, seconds. */
  mtime: number;
  /** Called, in order, once the file is written. */
  done: (st: WrittenFile) => void;
}

/** One symlink to make: `symlink`, `lchown` (unless `uid` is -1), `lutimes`, then `lstat`. */
export interface SymlinkWrite {
  path: string;
  entry: string;
  target: string;
  uid: number;
  gid: number;
  mtime: number;
  done: (st: WrittenFile) => void;
}

/** A write the helper thread failed: the entry, and the system error's message and code. */
export class FileWriteError extends Error {
  constructor(
    readonly entry: string,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

// Numbers per op in the request ([kind, a, b, c, d, e, bytes]), stats per op in the answer.
const NUMS = 7;
const STATS = 8;
const FILE = 0;
const MKDIR = 1;
const SYMLINK = 2;

/**
 * The helper thread's program (an eval'd script so that bundling the CLI cannot lose a worker
 * file). It runs each batch's operations in order and stops for good at the first failure.
 */
const WRITER = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const F = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
let failed = false;
function put(stats, s, st) {
  stats[s] = st.ino; stats[s + 1] = st.nlink; stats[s + 2] = st.ctimeNs; stats[s + 3] = st.mode;
  stats[s + 4] = st.uid; stats[s + 5] = st.gid; stats[s + 6] = st.size; stats[s + 7] = st.mtimeNs;
}
parentPort.on("message", ({ id, paths, targets, nums, data }) => {
  const n = paths.length;
  const stats = new BigInt64Array(n * ${STATS});
  const buf = Buffer.from(data);
  let done = 0;
  let error;
  if (!failed) {
    let off = 0;
    try {
      for (; done < n; done++) {
        const k = done * ${NUMS};
        const p = paths[done];
        const kind = nums[k];
        if (kind === ${MKDIR}) {
          fs.mkdirSync(p, nums[k + 1]);
          continue;
        }
        if (kind === ${SYMLINK}) {
          fs.symlinkSync(targets[done], p);
          if (nums[k + 1] >= 0) fs.lchownSync(p, nums[k + 1], nums[k + 2]);
          fs.lutimesSync(p, nums[k + 3], nums[k + 3]);
          put(stats, done * ${STATS}, fs.lstatSync(p, { bigint: true }));
          continue;
        }
        const len = nums[k + 6];
        const fd = fs.openSync(p, F, nums[k + 1]);
        try {
          let w = 0;
          while (w < len) w += fs.writeSync(fd, buf, off + w, len - w);
          off += len;
          if (nums[k + 3] >= 0) fs.fchownSync(fd, nums[k + 3], nums[k + 4]);
          if (nums[k + 2] >= 0) fs.fchmodSync(fd, nums[k + 2]);
          fs.futimesSync(fd, nums[k + 5], nums[k + 5]);
          put(stats, done * ${STATS}, fs.fstatSync(fd, { bigint: true }));
        } finally {
          fs.closeSync(fd);
        }
      }
    } catch (e) {
      failed = true;
      error = { message: String(e && e.message), code: e && e.code };
    }
  }
  // the content buffer goes back too: the caller reuses it for a later batch
  parentPort.postMessage({ id, done, stats, error, data }, [stats.buffer, data]);
});
`;

/** Files of at most this many bytes go to the thread (bigger ones are written by the caller). */
export const WRITER_MAX_FILE = 4 << 20;
/** A batch is sent when it holds this many bytes or {@link BATCH_OPS} operations. */
const BATCH_BYTES = 1 << 20;
const BATCH_OPS = 128;
/** The caller waits while more than this many content bytes are sent and not yet written. */
const MAX_IN_FLIGHT = 8 << 20;
/**
 * ... or more than this many operations (8 batches of {@link BATCH_OPS}: the thread always has
 * the next batch waiting). Each operation in flight holds its path, tar entry name, callback
 * and header on this thread and its path on the writer's; bounded by bytes only (each op
 * counted 512 bytes) a layer of tiny files had 16,000 in flight (issue 16: +40 MB of peak RSS
 * for a 50,000-file layer).
 */
const MAX_OPS_IN_FLIGHT = 8 * BATCH_OPS;
/** Content buffers of {@link BATCH_BYTES} kept for reuse (the thread hands each one back). */
const POOL = Math.ceil(MAX_IN_FLIGHT / BATCH_BYTES) + 2;

interface Batch {
  /** Per op: the path, the symlink target ("" for others), the entry name, the callback. */
  paths: string[];
  targets: string[];
  entries: string[];
  done: Array<((st: WrittenFile) => void) | undefined>;
  nums: number[];
  data: Buffer;
  len: number;
}

/** The helper thread and its queue; one per {@link extract} call, started on first use. */
export class FileWriter {
  #worker: Worker | undefined;
  #batch: Batch | undefined;
  #sent = new Map<number, Batch>();
  #nextId = 0;
  #inFlight = 0;
  #opsInFlight = 0;
  /**
   * Content buffers the thread handed back. Reused rather than allocated per batch (issue 16:
   * a fresh 1 MiB buffer per batch, freed whenever the thread's heap was next collected, left
   * malloc's arena fragmented and resident).
   */
  readonly #pool: ArrayBuffer[] = [];
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #online = false;
  #onlineWaiters: Array<() => void> = [];

  /**
   * Starts the thread if it is not started yet (it boots in the background: tens of ms, far
   * more on a loaded machine, during which the caller can keep creating entries itself).
   */
  start(): void {
    this.#worker ??= this.#start();
  }

  /** Whether the thread runs (started and booted): only then does handing it work pay. */
  get online(): boolean {
    return this.#online;
  }

  /** Starts the thread and resolves once it runs (or has failed). */
  async whenOnline(): Promise<void> {
    this.start();
    if (this.#online || this.#error) return;
    await new Promise<void>((resolve) => this.#onlineWaiters.push(resolve));
  }

  #wakeOnline(): void {
    const waiters = this.#onlineWaiters;
    this.#onlineWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Queues `op` with its content (`chunks`, `size` bytes in all, at most {@link WRITER_MAX_FILE}).
   * The bytes are copied: the chunks may be reused once this returns.
   */
  file(op: FileWrite, chunks: readonly Buffer[], size: number): void {
    const b = this.#room(size);
    for (const c of chunks) {
      c.copy(b.data, b.len);
      b.len += c.length;
    }
    this.#push(b, op.path, "", op.entry, op.done, [
      FILE,
      op.createMode,
      op.chmod,
      op.uid,
      op.gid,
      op.mtime,
      size,
    ]);
  }

  /** Queues `mkdir(path, mode)`. */
  mkdir(path: string, mode: number, entry: string): void {
    this.#push(this.#room(0), path, "", entry, undefined, [MKDIR, mode, 0, 0, 0, 0, 0]);
  }

  /** Queues a symlink. */
  symlink(op: SymlinkWrite): void {
    this.#push(this.#room(0), op.path, op.target, op.entry, op.done, [
      SYMLINK,
      op.uid,
      op.gid,
      op.mtime,
      0,
      0,
      0,
    ]);
  }

  /** Whether anything is queued or on its way. */
  get busy(): boolean {
    return this.#batch !== undefined || this.#sent.size > 0;
  }

  #room(size: number): Batch {
    this.#throwIfFailed();
    let b = this.#batch;
    if (b && b.len + size > b.data.length) {
      this.#flush();
      b = undefined;
    }
    if (!b) {
      b = {
        paths: [],
        targets: [],
        entries: [],
        done: [],
        nums: [],
        data: size <= BATCH_BYTES ? this.#buffer() : Buffer.allocUnsafeSlow(size),
        len: 0,
      };
      this.#batch = b;
    }
    return b;
  }

  /** A {@link BATCH_BYTES} content buffer: a pooled one, else a new one. */
  #buffer(): Buffer {
    const pooled = this.#pool.pop();
    return pooled ? Buffer.from(pooled) : Buffer.allocUnsafeSlow(BATCH_BYTES);
  }

  #push(
    b: Batch,
    path: string,
    target: string,
    entry: string,
    done: ((st: WrittenFile) => void) | undefined,
    nums: number[],
  ): void {
    b.paths.push(path);
    b.targets.push(target);
    b.entries.push(entry);
    b.done.push(done);
    b.nums.push(...nums);
    if (b.paths.length >= BATCH_OPS || b.len >= BATCH_BYTES) this.#flush();
  }

  /** Whether {@link room} would return at once (nothing to wait for). */
  get hasRoom(): boolean {
    return this.#inFlight <= MAX_IN_FLIGHT && this.#opsInFlight <= MAX_OPS_IN_FLIGHT;
  }

  /** Waits while too many bytes or operations are on their way (bounded memory). */
  async room(): Promise<void> {
    while (
      (this.#inFlight > MAX_IN_FLIGHT || this.#opsInFlight > MAX_OPS_IN_FLIGHT) &&
      this.#error === undefined
    )
      await this.#next();
    this.#throwIfFailed();
  }

  /** Sends what is queued and waits until every file is written (and its `done` called). */
  async drain(): Promise<void> {
    this.#flush();
    while (this.#sent.size > 0 && this.#error === undefined) await this.#next();
    this.#throwIfFailed();
  }

  /** Stops the thread; resolves once it can no longer write anything. */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    this.#batch = undefined;
    this.#online = false;
    this.#wakeOnline();
    if (!w) return;
    // The thread writes only what it is sent: with nothing on its way (never handed anything
    // because the layer ended while it booted, or every batch answered) it can write nothing
    // more, so it is stopped without waiting for that, which costs up to its whole boot (tens of
    // ms, issue 16: a third of a busybox extraction). Batches still out: wait until it stopped.
    const t = w.terminate();
    if (this.#sent.size === 0) {
      t.catch(() => {});
      return;
    }
    await t;
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }

  #next(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #start(): Worker {
    const w = new Worker(WRITER, { eval: true });
    w.unref();
    w.once("online", () => {
      this.#online = true;
      this.#wakeOnline();
    });
    w.on("message", (m: Answer) => this.#answer(m));
    w.on("error", (e) => {
      this.#error ??= e;
      this.#notify();
      this.#wakeOnline();
    });
    w.on("exit", (code) => {
      if (this.#worker === w) {
        this.#error ??= new Error(`the extraction's writer thread exited (code ${code})`);
        this.#notify();
        this.#wakeOnline();
      }
    });
    return w;
  }

  #flush(): void {
    const b = this.#batch;
    this.#batch = undefined;
    if (!b || b.paths.length === 0) return;
    const w = (this.#worker ??= this.#start());
    const id = this.#nextId++;
    const nums = Float64Array.from(b.nums);
    this.#sent.set(id, b);
    this.#inFlight += b.len;
    this.#opsInFlight += b.paths.length;
    const data = b.data.buffer as ArrayBuffer;
    w.postMessage({ id, paths: b.paths, targets: b.targets, nums, data }, [nums.buffer, data]);
  }

  #answer(m: Answer): void {
    const b = this.#sent.get(m.id);
    if (!b) return;
    this.#sent.delete(m.id);
    this.#inFlight -= b.len;
    this.#opsInFlight -= b.paths.length;
    if (m.data.byteLength === BATCH_BYTES && this.#pool.length < POOL) this.#pool.push(m.data);
    const s = m.stats;
    try {
      for (let i = 0; i < m.done; i++) {
        const k = i * STATS;
        b.done[i]?.({
          ino: s[k]!,
          nlink: Number(s[k + 1]),
          ctimeNs: s[k + 2]!,
          mode: Number(s[k + 3]),
          uid: Number(s[k + 4]),
          gid: Number(s[k + 5]),
          size: Number(s[k + 6]),
          mtimeNs: s[k + 7]!,
        });
      }
      if (m.error && !this.#error) {
        this.#error = new FileWriteError(b.entries[m.done] ?? "", m.error.message, m.error.code);
      }
    } catch (e) {
      this.#error ??= e as Error;
    }
    this.#notify();
  }
}

/** The thread's answer to one batch: how many ops it ran, their stats, the failure if one. */
interface Answer {
  id: number;
  done: number;
  stats: BigInt64Array;
  /** The batch's content buffer, handed back. */
  data: ArrayBuffer;
  error?: { message: string; code?: string };
}
