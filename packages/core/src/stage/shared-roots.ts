import type { BigIntStats } from "node:fs";
import { lstat, readdir, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Baseline, type BaselineEntry, nodeType } from "@molt/snapshotter";
import createDebug from "debug";
import { throwIfAborted } from "../errors.js";
import { run } from "../runner/exec.js";

const debug = createDebug("molt:stage");

/** The millisecond double a non-bigint `lstat` reports for a time given in nanoseconds (as the snapshotter keeps it). */
const msFromNs = (ns: bigint): number =>
  Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;

interface Group {
  /** The root the first stage extracts into. */
  readonly root: string;
  /** Its baseline once extracted. */
  readonly extracted: Promise<Baseline>;
  /** The copies made of it (the first stage goes on only when they are done). */
  readonly copies: Promise<unknown>[];
}

/**
 * Root filesystems of one layer list extracted once while several stages ask for them at the
 * same time (parallel stages on one base): the first stage extracts into its own root, and every
 * stage that asks for the same layers meanwhile copies that tree with `cp` (a child process,
 * so the build's event loop stays free for the other stages) instead of decompressing and
 * writing every entry again on the event loop. The first stage goes on only once every copy is
 * made, so nothing copies a root a step is changing. A copy is checked entry by entry against
 * the extracted baseline (type, mode, owner, size, mtime, link target, device) and takes its own
 * inode, ctime and link count; when anything differs or `cp` fails, that stage extracts the
 * layers itself, as it would have without sharing. A stage asking after the first stage went on
 * extracts on its own (one at a time, `--jobs 1`, shares nothing).
 */
export class SharedRoots {
  readonly #open = new Map<string, Group>();

  /**
   * Fills `root` (missing) with `layers` (identified by `key`, e.g. their digests): by
   * `extractInto(root)`, or by copying the root another stage is extracting the same key into.
   */
  async materialise(
    key: string,
    root: string,
    extractInto: (root: string) => Promise<Baseline>,
    signal?: AbortSignal,
  ): Promise<Baseline> {
    const group = this.#open.get(key);
    if (group) {
      const copy = (async () => cloneRoot(group.root, root, await group.extracted, signal))();
      group.copies.push(copy.catch(() => {}));
      try {
        return await copy;
      } catch (e) {
        throwIfAborted(signal);
        debug("sharing the root of %s failed, extracting: %s", group.root, (e as Error).message);
        await rm(root, { recursive: true, force: true });
        return extractInto(root);
      }
    }
    let settle!: { resolve: (b: Baseline) => void; reject: (e: unknown) => void };
    const extracted = new Promise<Baseline>((resolve, reject) => {
      settle = { resolve, reject };
    });
    extracted.catch(() => {});
    const mine: Group = { root, extracted, copies: [] };
    this.#open.set(key, mine);
    try {
      const baseline = await extractInto(root);
      settle.resolve(baseline);
      // Copies can still join while the first ones run: wait until no new one came.
      for (let n = -1; n !== mine.copies.length; ) {
        n = mine.copies.length;
        await Promise.all(mine.copies);
      }
      return baseline;
    } catch (e) {
      settle.reject(e);
      throw e;
    } finally {
      if (this.#open.get(key) === mine) this.#open.delete(key);
    }
  }
}

/** Why a copied entry is not what the extraction wrote, or undefined when it is. */
async function differs(
  rel: string,
  st: BigIntStats,
  want: BaselineEntry | undefined,
  to: string,
): Promise<string | undefined> {
  if (!want) return `/${rel} is not in the extracted root`;
  const type = nodeType(st);
  if (type !== want.type) return `/${rel} is a ${type}, not a ${want.type}`;
  if (Number(st.mode & 0o7777n) !== want.mode) return `/${rel}: mode`;
  if (Number(st.uid) !== want.uid || Number(st.gid) !== want.gid) return `/${rel}: owner`;
  if (type === "file" && Number(st.size) !== want.size) return `/${rel}: size`;
  if (st.mtimeNs !== want.mtimeNs) return `/${rel}: mtime`;
  if ((type === "char" || type === "block") && Number(st.rdev) !== want.rdev) return `/${rel}: device`;
  if (type === "symlink" && (await readlink(join(to, rel))) !== want.linkTarget)
    return `/${rel}: link target`;
  return undefined;
}

/**
 * Copies the extracted tree `from` to `to` (missing) with everything a layer can carry (mode,
 * owner, times, hardlinks, extended attributes), then builds `to`'s baseline from `baseline`:
 * every entry checked, inode, ctime and link count its own. Throws when the copy is not exact.
 */
export async function cloneRoot(
  from: string,
  to: string,
  baseline: Baseline,
  signal?: AbortSignal,
): Promise<Baseline> {
  throwIfAborted(signal);
  const t0 = Date.now();
  const r = await run("cp", [
    "-dR",
    "--preserve=mode,ownership,timestamps,links,xattr",
    "--no-target-directory",
    "--",
    from,
    to,
  ]);
  if (r.code !== 0) throw new Error(`cp ${from} ${to}: ${r.stderr.trim() || `exit ${r.code}`}`);
  throwIfAborted(signal);
  const copy = baseline.clone();
  let seen = 0;
  const take = async (rel: string, st: BigIntStats) => {
    const want = baseline.get(rel);
    const why = await differs(rel, st, want, to);
    if (why) throw new Error(`the copy differs: ${why}`);
    copy.set(rel, {
      ...want!,
      ino: st.ino,
      ctimeNs: st.ctimeNs,
      ctimeMs: msFromNs(st.ctimeNs),
      nlink: Number(st.nlink),
    });
    seen++;
  };
  // Stats through the thread pool, a directory's entries at once: the event loop stays free for
  // the other stages meanwhile.
  await take("", await lstat(to, { bigint: true }));
  const stack = [""];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const names = await readdir(join(to, dir));
    throwIfAborted(signal);
    await Promise.all(
      names.map(async (name) => {
        const rel = dir === "" ? name : `${dir}/${name}`;
        const st = await lstat(join(to, rel), { bigint: true });
        await take(rel, st);
        if (st.isDirectory()) stack.push(rel);
      }),
    );
  }
  if (seen !== baseline.size)
    throw new Error(`the copy has ${seen} entries, the extracted root ${baseline.size}`);
  debug("copied the root %s to %s (%d entries) in %d ms", from, to, seen, Date.now() - t0);
  return copy;
}
