import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import { MoltError } from "@molt/oci";

const MAX_LINKS = 40;

/**
 * Resolves a cleaned context-relative path to the real context-relative path it names, following
 * symlinks in parent components *inside the root*, as if the root were `/` (an absolute target or
 * a `..` above the root stays at the root; it never leaves it). The last component is followed
 * only when `followFinal` is set. Missing components are kept as written, so a following `lstat`
 * reports the absence.
 */
export async function resolveInRoot(root: string, path: string, followFinal = false): Promise<string> {
  const pending = path === "" ? [] : path.split("/");
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === "" || name === ".") continue;
    if (name === "..") {
      done.pop();
      continue;
    }
    const last = pending.length === 0;
    if (missing || (last && !followFinal)) {
      done.push(name);
      continue;
    }
    let isLink = false;
    try {
      isLink = (await lstat(join(root, ...done, name))).isSymbolicLink();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
      missing = true;
    }
    if (!isLink) {
      done.push(name);
      continue;
    }
    if (++links > MAX_LINKS) {
      throw new MoltError(
        "MOLT_CONTEXT_SYMLINK_LOOP",
        `too many levels of symbolic links resolving "${path}"`,
      );
    }
    const target = await readlink(join(root, ...done, name));
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...target.split("/"));
  }
  return done.join("/");
}
