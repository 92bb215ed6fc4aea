import { constants } from "node:fs";
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join } from "node:path";
import { RunnerSetupError } from "../runner/errors.js";
import { run as exec } from "../runner/exec.js";

/** Trees up to this many entries are copied in this process; bigger ones by `cp -a`. */
const SMALL = 64;

interface Entry {
  rel: string;
  kind: "dir" | "file" | "link";
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
}

/** The entries of a small tree of directories, single-linked files and symlinks; else undefined. */
async function smallTree(from: string): Promise<Entry[] | undefined> {
  const out: Entry[] = [];
  const visit = async (rel: string): Promise<boolean> => {
    const st = await lstat(rel ? join(from, rel) : from);
    const kind = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "link" : st.isFile() ? "file" : undefined;
    // Hard links, devices, fifos and sockets: cp -a knows how to keep them.
    if (!kind || (kind === "file" && st.nlink > 1)) return false;
    out.push({
      rel,
      kind,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      atimeMs: st.atimeMs,
      mtimeMs: st.mtimeMs,
    });
    if (out.length > SMALL) return false;
    if (kind !== "dir") return true;
    for (const n of await readdir(rel ? join(from, rel) : from))
      if (!(await visit(rel ? `${rel}/${n}` : n))) return false;
    return true;
  };
  return (await visit("")) ? out : undefined;
}

/**
 * `cp -a from to` (owners, modes, times and links kept; `to` must not exist). A small tree (up to
 * 64 directories, files and symlinks, no hard links or special files) is copied by this process,
 * which saves starting a program per mount and step; its times are kept to the microsecond and
 * extended attributes are not copied. Anything else goes to `cp -a`.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  const entries = await smallTree(from).catch(() => undefined);
  if (!entries) {
    const r = await exec("cp", ["-a", "--", from, to], { env: { PATH: "/usr/bin:/bin", LC_ALL: "C" } });
    if (r.code !== 0) throw new RunnerSetupError(`cannot copy mount content: ${r.stderr.trim()}`);
    return;
  }
  const asRoot = process.geteuid?.() === 0;
  for (const e of entries) {
    const src = e.rel ? join(from, e.rel) : from;
    const dst = e.rel ? join(to, e.rel) : to;
    if (e.kind === "dir") await mkdir(dst, { mode: 0o700 });
    else if (e.kind === "link") await symlink(await readlink(src), dst);
    else await copyFile(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    await lchown(dst, e.uid, e.gid).catch((err: NodeJS.ErrnoException) => {
      // as cp -a: not being allowed to give a file away is an error only for root
      if (asRoot || (err.code !== "EPERM" && err.code !== "EINVAL")) throw err;
    });
    if (e.kind !== "link") await chmod(dst, e.mode);
  }
  // Times last, deepest first, so creating entries does not move their directories' mtimes.
  for (const e of [...entries].reverse()) {
    const dst = e.rel ? join(to, e.rel) : to;
    await lutimes(dst, e.atimeMs / 1000, e.mtimeMs / 1000);
  }
}
