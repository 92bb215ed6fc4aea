import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { Baseline, entryFromStat } from "./baseline.js";
import { throwIfAborted } from "./errors.js";
import { abs } from "./paths.js";
import { readXattrs, xattrToolsAvailable } from "./xattrs.js";

/**
 * Visits every entry below `root` depth-first with synchronous `lstat` (much cheaper per entry
 * than the thread-pool round trip of the async API), yielding to the event loop every few
 * thousand entries so an `AbortSignal` is seen. `visit` returns whether to descend into a
 * directory. Paths in `ignore` (relative, cleaned) are neither visited nor descended into.
 */
export async function walkTree(
  root: string,
  ignore: ReadonlySet<string>,
  visit: (rel: string, st: BigIntStats, names: string[] | undefined) => boolean,
  options: { signal?: AbortSignal; start?: string } = {},
): Promise<void> {
  const stack: string[] = [options.start ?? ""];
  let n = 0;
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(abs(root, dir));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") continue;
      throw e;
    }
    for (const name of names) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      if (ignore.has(rel)) continue;
      const st = lstatSync(abs(root, rel), { bigint: true, throwIfNoEntry: false });
      if (st === undefined) continue;
      if (visit(rel, st, undefined) && st.isDirectory()) stack.push(rel);
      if (++n % 4096 === 0) {
        await new Promise((r) => setImmediate(r));
        throwIfAborted(options.signal);
      }
    }
  }
}

/**
 * Builds a {@link Baseline} of an existing tree by walking it (used when a root was not made by
 * `extract`). Extended attributes are read with `getfattr` in batches; content is not hashed.
 */
export async function scanTree(
  root: string,
  options: { ignore?: ReadonlySet<string>; signal?: AbortSignal } = {},
): Promise<Baseline> {
  const b = new Baseline();
  b.set("", entryFromStat(lstatSync(abs(root, ""), { bigint: true })));
  const paths: string[] = [];
  await walkTree(
    root,
    options.ignore ?? new Set(),
    (rel, st) => {
      const p = abs(root, rel);
      b.set(rel, entryFromStat(st, st.isSymbolicLink() ? { linkTarget: readlinkSync(p) } : undefined));
      paths.push(p);
      return true;
    },
    options,
  );
  b.xattrsKnown = await xattrToolsAvailable();
  const x = await readXattrs(paths);
  const prefix = root === "" ? 1 : root.length + 1;
  for (const [p, xattrs] of x) {
    const rel = p.slice(prefix);
    const e = b.get(rel);
    if (e) b.set(rel, { ...e, xattrs });
  }
  return b;
}

export type { BigIntStats };
