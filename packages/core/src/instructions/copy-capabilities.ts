import type { FileEntry } from "@molt/oci";
import { CAPABILITY_XATTR, readXattrs } from "@molt/snapshotter";

/** The one extended attribute a copy keeps (the snapshotter's, shared with RUN layers). */
export { CAPABILITY_XATTR };

/**
 * The file capabilities (`security.capability`) of regular files copied from disk, by their
 * `source` path. BuildKit's copy keeps a source's xattrs (fsutil sends them with each stat and
 * its copy applies them), but its layer writer (containerd's archive ChangeWriter) records only
 * `security.capability` in the tar, so that is the one a COPY/ADD layer carries; `user.*` and
 * the rest are dropped. Read with one `getfattr` per 2000 files; without the `attr` package
 * nothing is read (README "Host programs molt uses").
 */
export async function capabilitiesOf(entries: Iterable<FileEntry>): Promise<Map<string, Buffer>> {
  const paths = new Set<string>();
  for (const e of entries) if ((e.type === "file" || e.type === "hardlink") && e.source) paths.add(e.source);
  const out = new Map<string, Buffer>();
  if (paths.size === 0) return out;
  const found = await readXattrs([...paths], (name) => name === CAPABILITY_XATTR);
  for (const [p, x] of found) {
    const v = x[CAPABILITY_XATTR];
    if (v) out.set(p, v);
  }
  return out;
}
