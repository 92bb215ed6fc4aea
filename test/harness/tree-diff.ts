import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/** What a tree comparison looks at for one path (never times: builders differ there by design). */
export interface TreeEntry {
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of a file's content, or a symlink's target. */
  content?: string;
}

/** Walks `root` (no symlink following) into path → {@link TreeEntry}. */
export async function readTree(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  async function walk(rel: string): Promise<void> {
    const abs = join(root, rel);
    const st = await lstat(abs);
    const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (st.isDirectory()) {
      if (rel !== "") out.set(rel, { type: "dir", ...base });
      for (const name of (await readdir(abs)).sort()) await walk(rel === "" ? name : `${rel}/${name}`);
    } else if (st.isSymbolicLink()) {
      out.set(rel, { type: "symlink", ...base, mode: 0, content: await readlink(abs) });
    } else if (st.isFile()) {
      out.set(rel, {
        type: "file",
        ...base,
        content: createHash("sha256")
          .update(await readFile(abs))
          .digest("hex"),
      });
    } else {
      out.set(rel, { type: "other", ...base });
    }
  }
  await walk("");
  return out;
}

/** Human-readable differences between two trees: `+path` only in b, `-path` only in a, `~path` differs. */
export function diffTrees(a: Map<string, TreeEntry>, b: Map<string, TreeEntry>): string[] {
  const out: string[] = [];
  for (const [p, ea] of a) {
    const eb = b.get(p);
    if (!eb) out.push(`-${p}`);
    else if (JSON.stringify(ea) !== JSON.stringify(eb))
      out.push(`~${p} ${JSON.stringify(ea)} != ${JSON.stringify(eb)}`);
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`+${p}`);
  return out.sort();
}
