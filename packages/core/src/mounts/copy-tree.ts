import {
  chmodSync,
  constants,
  copyFileSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import { join } from "node:path";
import { RunnerSetupError } from "../runner/errors.js";
import { run as exec } from "../runner/exec.js";

/** Trees up to this many entries and bytes are copied in this process; bigger ones by `cp -a`. */
const SMALL = 64;
const SMALL_BYTES = 1 << 20;

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
function smallTree(from: string): Entry[] | undefined {
  const out: Entry[] = [];
  let bytes = 0;
  const visit = (rel: string): boolean => {
    const st = lstatSync(rel ? join(from, rel) : from);
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
    bytes += kind === "file" ? st.size : 0;
    if (out.length > SMALL || bytes > SMALL_BYTES) return false;
    if (kind !== "dir") return true;
    for (const n of readdirSync(rel ? join(from, rel) : from))
      if (!visit(rel ? `${rel}/${n}` : n)) return false;
    return true;
  };
  return visit("") ? out : undefined;
}

/**
 * `cp -a from to` (owners, modes, times and links kept; `to` must not exist). A small tree (up to
 * 64 directories, files and symlinks and 1 MiB, no hard links or special files) is copied by this
 * process with synchronous calls, which saves starting a program (and thread-pool round trips)
 * per mount and step; its times are kept to the microsecond and extended attributes are not
 * copied. Anything else goes to `cp -a`.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  let entries: Entry[] | undefined;
  try {
    entries = smallTree(from);
  } catch {
    entries = undefined; // let cp -a say what is wrong
  }
  if (!entries) {
    const r = await exec("cp", ["-a", "--", from, to], { env: { PATH: "/usr/bin:/bin", LC_ALL: "C" } });
    if (r.code !== 0) throw new RunnerSetupError(`cannot copy mount content: ${r.stderr.trim()}`);
    return;
  }
  const asRoot = process.geteuid?.() === 0;
  for (const e of entries) {
    const src = e.rel ? join(from, e.rel) : from;
    const dst = e.rel ? join(to, e.rel) : to;
    if (e.kind === "dir") mkdirSync(dst, { mode: 0o700 });
    else if (e.kind === "link") symlinkSync(readlinkSync(src), dst);
    else copyFileSync(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    try {
      lchownSync(dst, e.uid, e.gid);
    } catch (err) {
      // as cp -a: not being allowed to give a file away is an error only for root
      const code = (err as NodeJS.ErrnoException).code;
      if (asRoot || (code !== "EPERM" && code !== "EINVAL")) throw err;
    }
    if (e.kind !== "link") chmodSync(dst, e.mode);
  }
  // Times last, deepest first, so creating entries does not move their directories' mtimes.
  for (const e of [...entries].reverse()) {
    const dst = e.rel ? join(to, e.rel) : to;
    lutimesSync(dst, e.atimeMs / 1000, e.mtimeMs / 1000);
  }
}
