import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { expect } from "vitest";
import type { Baseline } from "../src/index.js";
import { exec as run } from "./exec.js";

/** One path of a tree as GNU find and getfattr (not our code) describe it. */
export interface TreeRecord {
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: string;
  link: string;
  rdev: string;
  content: string;
  xattrs: string;
  /** For regular files with several names: the first name (sorted) of the same inode. */
  linkGroup: string;
}

/**
 * Describes every path below `root` with independent tools: `find -printf` for stat data,
 * sha256 of file contents, `getfattr` for xattrs. Directory times are left out (they move
 * whenever a child changes); file and symlink mtimes are kept to the second.
 */
export async function describeTree(
  root: string,
  opts: { mtime?: boolean } = {},
): Promise<Map<string, TreeRecord>> {
  const out = await run("find", [
    root,
    "-mindepth",
    "1",
    "-printf",
    "%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0%l\\0%i\\0%n\\0%T@\\0",
  ]);
  const f = out.stdout.split("\0");
  const recs = new Map<string, TreeRecord>();
  const inodes = new Map<string, string[]>();
  for (let i = 0; i + 9 < f.length; i += 10) {
    const [path, y, m, u, g, s, l, ino, n, t] = f.slice(i, i + 10) as string[];
    let content = "";
    if (y === "f")
      content = createHash("sha256")
        .update(await readFile(`${root}/${path}`))
        .digest("hex")
        .slice(0, 16);
    let rdev = "";
    if (y === "c" || y === "b") {
      rdev = (await run("stat", ["-c", "%t:%T", `${root}/${path}`])).stdout.trim();
    }
    recs.set(path!, {
      type: y!,
      mode: m!,
      uid: u!,
      gid: g!,
      size: y === "f" ? s! : "",
      link: l!,
      rdev,
      content: opts.mtime && y !== "d" ? `${content}@${t!.split(".")[0]}` : content,
      xattrs: "",
      linkGroup: "",
    });
    if (y === "f" && Number(n) > 1) inodes.set(ino!, [...(inodes.get(ino!) ?? []), path!]);
  }
  for (const paths of inodes.values()) {
    paths.sort();
    for (const p of paths) recs.get(p)!.linkGroup = paths[0]!;
  }
  const x = await run("getfattr", ["-R", "-P", "-d", "-m", "-", "-e", "hex", "--absolute-names", root], {
    allowFail: true,
  });
  let cur: TreeRecord | undefined;
  for (const line of x.stdout.split("\n")) {
    if (line.startsWith("# file: ")) {
      cur = recs.get(line.slice(8 + root.length + 1));
    } else if (line && cur && !line.startsWith("trusted.overlay.")) cur.xattrs += `${line};`;
  }
  return recs;
}

/** A readable diff of two trees (empty when equal). */
export function diffTrees(a: Map<string, TreeRecord>, b: Map<string, TreeRecord>): string[] {
  const out: string[] = [];
  for (const [p, r] of a) {
    const o = b.get(p);
    if (!o) out.push(`only in first: ${p}`);
    else if (JSON.stringify(r) !== JSON.stringify(o))
      out.push(`${p}: ${JSON.stringify(r)} != ${JSON.stringify(o)}`);
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`only in second: ${p}`);
  return out;
}

/** Every baseline entry agrees with lstat (type, mode, owner, size, inode, link target) and nothing is missing. */
export async function expectBaselineMatchesDisk(baseline: Baseline, root: string): Promise<void> {
  const out = await run("find", [
    root,
    "-mindepth",
    "1",
    "-printf",
    "%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0%i\\0%l\\0",
  ]);
  const f = out.stdout.split("\0");
  const types: Record<string, string> = {
    f: "file",
    d: "directory",
    l: "symlink",
    c: "char",
    b: "block",
    p: "fifo",
  };
  let n = 0;
  for (let i = 0; i + 7 < f.length; i += 8) {
    const [p, y, m, u, g, s, ino, l] = f.slice(i, i + 8) as string[];
    const e = baseline.get(p!);
    expect(e, p).toBeDefined();
    expect(e!.type, p).toBe(types[y!]);
    expect(e!.mode.toString(8), p).toBe(m);
    expect([e!.uid, e!.gid], p).toEqual([Number(u), Number(g)]);
    if (y === "f") expect(e!.size, p).toBe(Number(s));
    expect(e!.ino, p).toBe(BigInt(ino!));
    if (y === "l") expect(e!.linkTarget, p).toBe(l);
    n++;
  }
  expect(baseline.size).toBe(n + 1); // + the root itself
}
