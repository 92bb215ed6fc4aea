import { lstat } from "node:fs/promises";
import { join } from "node:path";
import type { FileEntry } from "@molt/oci";

/**
 * Parent directories for a layer, read from the stage's root filesystem, so that a layer
 * carries each parent with the mode and owner the image really has (as Docker's layers do).
 */
export function parentsFromRoot(root: string): (path: string) => Promise<FileEntry | undefined> {
  return async (path) => {
    try {
      const st = await lstat(join(root, path), { bigint: true });
      if (!st.isDirectory()) return undefined;
      return {
        path,
        type: "directory",
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: 0,
        mtimeNs: st.mtimeNs,
      };
    } catch {
      return undefined;
    }
  };
}
