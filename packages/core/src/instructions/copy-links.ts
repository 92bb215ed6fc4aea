import type { FileEntry } from "@molt/oci";

/**
 * Files of one link scope that share an inode become one file and hard links to it (the first
 * in copy order holds the bytes), as BuildKit's copy links a name whose inode it copied before.
 * A name overwritten by a later source has left `scopes`, so no link points at replaced bytes.
 *
 * @param entries what the copy puts (layer path → entry), changed in place
 * @param scopes the link scope of each entry that may be a hard link (a file with a shared inode)
 */
export function keepHardLinks(entries: Map<string, FileEntry>, scopes: ReadonlyMap<string, object>): void {
  // No file with a shared inode (most copies): nothing to look up per entry.
  if (scopes.size === 0) return;
  const holders = new Map<object, Map<string, string>>();
  for (const [path, e] of entries) {
    const scope = scopes.get(path);
    if (scope === undefined || e.inode === undefined) continue;
    let byInode = holders.get(scope);
    if (!byInode) holders.set(scope, (byInode = new Map()));
    const holder = byInode.get(e.inode);
    if (holder === undefined) byInode.set(e.inode, path);
    // The link keeps its `source`: should its target ever leave the layer, it is written as a file.
    else entries.set(path, { ...e, type: "hardlink", linkTarget: holder, size: 0 });
  }
}
