import { spawnSync } from "node:child_process";
import {
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { copyTree } from "../src/mounts/copy-tree.js";

const dir = mkdtempSync(join(tmpdir(), "molt-copy-tree-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const root = process.geteuid?.() === 0;

/** Each entry's kind, mode, owner, mtime (to the microsecond), link target and content. */
function describeTree(top: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const p = rel ? join(top, rel) : top;
    const st = lstatSync(p, { bigint: true });
    const what = st.isDirectory()
      ? "dir"
      : st.isSymbolicLink()
        ? `link->${readlinkSync(p)}`
        : `file:${readFileSync(p, "utf8")}:nlink=${st.nlink}`;
    out[rel || "."] =
      `${what} ${(Number(st.mode) & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.mtimeNs / 1000n}`;
    if (st.isDirectory())
      for (const n of spawnSync("ls", ["-A", p], { encoding: "utf8" }).stdout.split("\n").filter(Boolean))
        walk(rel ? `${rel}/${n}` : n);
  };
  walk("");
  return out;
}

function makeTree(top: string, hardLink: boolean): void {
  mkdirSync(join(top, "sub", "deep"), { recursive: true });
  writeFileSync(join(top, "a.txt"), "alpha", { mode: 0o640 });
  writeFileSync(join(top, "sub", "run.sh"), "#!/bin/sh\n", { mode: 0o4755 });
  symlinkSync("../a.txt", join(top, "sub", "to-a"));
  if (hardLink) linkSync(join(top, "a.txt"), join(top, "sub", "same-a"));
  if (root) {
    chownSync(join(top, "a.txt"), 1000, 1000);
    chownSync(join(top, "sub", "deep"), 1234, 5678);
    spawnSync("chmod", ["4755", join(top, "sub", "run.sh")]);
  }
  spawnSync("chmod", ["0700", join(top, "sub", "deep")]);
  // sub-second times on every entry (directories last, as a real tree would have them)
  spawnSync("sh", ["-c", `find "$1" -depth -exec touch -h -d @1700000000.123456789 {} +`, "sh", top]);
}

describe("copyTree (RUN --mount content without cp -a)", () => {
  it.each([false, true])("copies as cp -a does (hard link: %s)", async (hardLink) => {
    const src = join(dir, `src-${hardLink}`);
    mkdirSync(src);
    makeTree(src, hardLink);
    const ours = join(dir, `ours-${hardLink}`);
    const ref = join(dir, `ref-${hardLink}`);
    await copyTree(src, ours);
    expect(spawnSync("cp", ["-a", "--", src, ref]).status).toBe(0);
    const want = describeTree(ref);
    expect(Object.keys(want).sort()).toEqual(
      [".", "a.txt", "sub", "sub/deep", "sub/run.sh", "sub/to-a", ...(hardLink ? ["sub/same-a"] : [])].sort(),
    );
    expect(describeTree(ours)).toEqual(want);
    if (root) expect(want["a.txt"]).toContain(" 1000:1000 ");
    expect(want["sub/run.sh"]).toContain(root ? " 4755 " : " 755 ");
    if (hardLink) expect(want["a.txt"]).toContain("nlink=2");
  });

  it("refuses to copy over an existing destination", async () => {
    const src = join(dir, "src-x");
    mkdirSync(src);
    writeFileSync(join(src, "f"), "1");
    const dst = join(dir, "dst-x");
    mkdirSync(dst);
    await expect(copyTree(src, dst)).rejects.toMatchObject({ code: "EEXIST" });
  });
});
