import type { FileEntry } from "@molt/oci";
import { CAPABILITY_XATTR, readXattrs, xattrToolsAvailable } from "@molt/snapshotter";

/** The one extended attribute a copy keeps (the snapshotter's, shared with RUN layers). */
export { CAPABILITY_XATTR };

/**
 * What is already known of a file's capabilities, by `source` path: the value, `null` for none,
 * `undefined` when it must be read.
 */
export type KnownCapabilities = (source: string) => Buffer | null | undefined;

/**
 * The file capabilities (`security.capability`) of regular files copied from disk, by their
 * `source` path. BuildKit's copy keeps a source's xattrs (fsutil sends them with each stat and
 * its copy applies them), but its layer writer (containerd's archive ChangeWriter) records only
 * `security.capability` in the tar, so that is the one a COPY/ADD layer carries; `user.*` and
 * the rest are dropped. Read with one `getfattr` per 2000 files (or `read`, e.g. a reader
 * started ahead), for the paths `known` does not answer; without the `attr` package nothing is
 * read (README "Host programs molt uses").
 *
 * The result maps each source to its capability, or to `null` when it was checked and has none;
 * a path that could not be checked (no `getfattr`) is absent.
 */
export async function capabilitiesOf(
  entries: Iterable<FileEntry>,
  known?: KnownCapabilities,
  read: (paths: string[]) => Promise<Map<string, Record<string, Buffer>>> = (paths) =>
    readXattrs(paths, (name) => name === CAPABILITY_XATTR),
): Promise<Map<string, Buffer | null>> {
  const paths = new Set<string>();
  const out = new Map<string, Buffer | null>();
  for (const e of entries) {
    if ((e.type !== "file" && e.type !== "hardlink") || !e.source) continue;
    const k = known?.(e.source);
    if (k !== undefined) out.set(e.source, k);
    else paths.add(e.source);
  }
  if (paths.size === 0 || !(await xattrToolsAvailable())) return out;
  const found = await read([...paths]);
  for (const p of paths) out.set(p, found.get(p)?.[CAPABILITY_XATTR] ?? null);
  return out;
}

/**
 * Gives each regular file of a copy (layer path → entry) the capability its `source` has, as
 * {@link capabilitiesOf} reads them, in place: an entry with one is replaced by a copy carrying
 * the xattr. `known` holds what is known already (a source → its capability, `null` for none:
 * the build context's files, whose capabilities the keys read); only the other sources are
 * read. Unlike {@link capabilitiesOf}, no map of every source is built: only the few entries
 * with a capability are kept aside.
 */
export async function addCapabilities(
  entries: Map<string, FileEntry>,
  known?: ReadonlyMap<string, Buffer | null>,
): Promise<void> {
  const withCap: [string, Buffer][] = [];
  const unread = new Set<string>();
  // forEach, not for-of: no [key, value] pair nor iterator result per entry (20,000 of each).
  entries.forEach((e, path) => {
    if ((e.type !== "file" && e.type !== "hardlink") || !e.source) return;
    const k = known?.get(e.source);
    if (k === undefined) unread.add(e.source);
    else if (k !== null && e.type === "file") withCap.push([path, k]);
  });
  if (unread.size > 0 && (await xattrToolsAvailable())) {
    const found = await readXattrs([...unread], (name) => name === CAPABILITY_XATTR);
    entries.forEach((e, path) => {
      if (e.type !== "file" || e.source === undefined || !unread.has(e.source)) return;
      const cap = found.get(e.source)?.[CAPABILITY_XATTR];
      if (cap !== undefined) withCap.push([path, cap]);
    });
  }
  for (const [path, cap] of withCap) {
    const e = entries.get(path) as FileEntry;
    entries.set(path, { ...e, xattrs: { ...e.xattrs, [CAPABILITY_XATTR]: cap } });
  }
}
