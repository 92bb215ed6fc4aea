import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { chmod, chown, mkdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import createDebug from "debug";
import { RunnerSetupError } from "../runner/errors.js";
import { run as exec } from "../runner/exec.js";
import { type FileLock, lockFile } from "./lock.js";

const debug = createDebug("molt:mounts");

/**
 * Where `RUN --mount=type=cache` directories live when the build names none:
 * `$XDG_CACHE_HOME/molt/cache-mounts`, else `~/.cache/molt/cache-mounts`.
 */
export function defaultCacheMountDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME?.startsWith("/") ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(base, "molt", "cache-mounts");
}

/** A cache directory in use by one RUN; release it when the command is done. */
export interface CacheLease {
  /** Host path of the directory to mount. */
  path: string;
  /** The cache id (as written in the Dockerfile). */
  id: string;
  /** Which instance of the id (0 unless `sharing=private` found the others in use). */
  instance: number;
  /** True when the directory was created for this lease (empty or seeded). */
  created: boolean;
  /** Gives the directory back (unlocks it, frees a `private` instance) once the RUN is done. */
  release(): Promise<void>;
}

/** What a new cache directory is created with. */
export interface CacheDirSpec {
  /** Permission bits of a new directory (BuildKit default 0755). */
  mode: number;
  /** Owner of a new directory, as host ids. */
  uid: number;
  gid: number;
  /** A host directory whose content seeds a new cache (`from`/`source`). */
  seed?: string;
}

/**
 * The cache mounts of every build on this machine under one directory: `<root>/<hash of id>/`
 * holds `id` (the id, for people looking), and instances `0/`, `1/`, … each with a lock file
 * `<n>.lock`. Semantics (BuildKit's, across concurrent builds through `flock(2)`):
 * - `shared`: instance 0, held with a shared lock; any number of writers at once;
 * - `locked`: instance 0, held exclusively: waits until every other user has let go;
 * - `private`: the first instance nobody holds, exclusively; a new one when all are taken.
 */
export class CacheMountStore {
  constructor(readonly root: string) {}

  /** The directory of `id` (not created). */
  dirOf(id: string): string {
    return join(this.root, createHash("sha256").update(id).digest("hex").slice(0, 32));
  }

  /** Takes `id` for one command with `sharing`, creating the directory when missing. */
  async acquire(
    id: string,
    sharing: "shared" | "private" | "locked",
    spec: CacheDirSpec,
    signal?: AbortSignal,
  ): Promise<CacheLease> {
    const dir = this.dirOf(id);
    // synchronous: two metadata calls, cheaper than thread-pool round trips on a loaded machine
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const idFile = join(dir, "id");
    if (!existsSync(idFile)) writeFileSync(idFile, id);
    if (sharing !== "private") {
      const lock = await lockFile(join(dir, "0.lock"), sharing === "shared" ? "shared" : "exclusive", {
        ...(signal ? { signal } : {}),
      });
      return this.#lease(id, dir, 0, lock!, spec);
    }
    for (let n = 0; n < 1024; n++) {
      const lock = await lockFile(join(dir, `${n}.lock`), "exclusive", {
        wait: false,
        ...(signal ? { signal } : {}),
      });
      if (lock) return this.#lease(id, dir, n, lock, spec);
    }
    throw new RunnerSetupError(`too many private instances of cache ${id} in use`);
  }

  async #lease(id: string, dir: string, n: number, lock: FileLock, spec: CacheDirSpec): Promise<CacheLease> {
    const path = join(dir, String(n));
    let created = false;
    try {
      created = await ensureDir(path, spec);
    } catch (e) {
      await lock.release();
      throw e;
    }
    debug("cache %s: instance %d%s", dir, n, created ? " (new)" : "");
    return { path, id, instance: n, created, release: () => lock.release() };
  }
}

function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Creates `path` atomically (built aside, renamed in) when missing; true when this call made it. */
async function ensureDir(path: string, spec: CacheDirSpec): Promise<boolean> {
  const tmp = `${path}.new-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    if (present(path)) return false;
    await mkdir(path.replace(/\/[^/]+$/, ""), { recursive: true });
    if (spec.seed) {
      const r = await exec("cp", ["-a", "--", spec.seed, tmp]);
      if (r.code !== 0) throw new RunnerSetupError(`cannot seed a cache mount: ${r.stderr.trim()}`);
    } else await mkdir(tmp);
    await chmod(tmp, spec.mode);
    await chown(tmp, spec.uid, spec.gid).catch((e: NodeJS.ErrnoException) => {
      // Rootless without the right to give files to subordinate ids: the directory stays ours.
      if (e.code !== "EPERM") throw e;
      debug("cache dir %s stays owned by this user (%s)", path, e.code);
    });
    try {
      await rename(tmp, path);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") return false; // another build made it first
      throw e;
    }
  } finally {
    if (present(tmp)) await rm(tmp, { recursive: true, force: true });
  }
}
