import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  cleanLexicalPath,
  cleanRootPath,
  diskLookup,
  inRoot,
  PathResolveError,
  resolveInRoot,
  resolvePath,
  resolvePathAsync,
} from "../src/index.js";

/*
 * One resolver for every "path inside a root" question, judged against the kernel: a generated
 * tree of symlink loops, absolute and relative links, `..` chains and dangling links, and
 * thousands of generated paths, each resolved by us and by `stat` run by a busybox chrooted into
 * the tree (the kernel's own path walk). Same inode, or the same failure.
 */
const root = await mkdtemp(join(tmpdir(), "oci-root-path-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A small deterministic PRNG (mulberry32), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DIRS = ["a", "a/b", "a/b/c", "c", "d", "d/e"];
const FILES = ["f", "a/f", "a/b/g", "d/e/h"];
const FIXED_LINKS: Array<[string, string]> = [
  ["abs", "/a/b"],
  ["rel", "a/b"],
  ["up", "../../../a"],
  ["a/up2", "../.."],
  ["a/b/back", "../../c"],
  ["loop1", "loop2"],
  ["loop2", "loop1"],
  ["self", "self"],
  ["a/b/deep", "../../a/b/deep2"],
  ["a/b/deep2", "/a/./b/../b/c"],
  ["dangling", "/nope/x"],
  ["tofile", "/a/f"],
  ["dirlink", "c"],
  ["escape", "/../../.."],
  ["d/e/home", "/"],
  ["d/dot", "."],
  ["d/filedot", "../f/."],
];
const NAMES = [
  "a",
  "b",
  "c",
  "d",
  "e",
  "f",
  "g",
  "h",
  "abs",
  "rel",
  "up",
  "up2",
  "back",
  "loop1",
  "self",
  "deep",
  "dangling",
  "tofile",
  "dirlink",
  "escape",
  "home",
  "dot",
  "filedot",
  "r0",
  "r1",
  "r2",
  "r3",
  "zz",
];

const rand = rng(15);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
function randomPath(maxLen: number): string {
  const n = 1 + Math.floor(rand() * maxLen);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(rand() < 0.2 ? ".." : rand() < 0.05 ? "." : pick(NAMES));
  return (rand() < 0.4 ? "/" : "") + parts.join("/") + (rand() < 0.05 ? "/" : "");
}

// The tree.
for (const d of DIRS) mkdirSync(join(root, d), { recursive: true });
for (const f of FILES) writeFileSync(join(root, f), f);
const links: Array<[string, string]> = [...FIXED_LINKS];
for (let i = 0; i < 4; i++) links.push([`${pick(["", "a/", "a/b/", "d/"])}r${i}`, randomPath(4)]);
for (let i = 0; i < 45; i++) links.push([`chain${i}`, i === 44 ? "a" : `chain${i + 1}`]); // 45 hops: ELOOP
for (let i = 0; i < 39; i++) links.push([`short${i}`, i === 38 ? "a" : `short${i + 1}`]); // 39 hops: fine
for (const [l, t] of links) symlinkSync(t, join(root, l));
copyFileSync("/bin/busybox", join(root, "busybox"));
chmodSync(join(root, "busybox"), 0o755);

const PATHS = [
  ...new Set([
    ...links.map(([l]) => l),
    ...links.map(([l]) => `${l}/`),
    ...links.map(([l]) => `/${l}/../f`),
    "chain0",
    "short0/b/g",
    "chain0/b",
    "up/b/c",
    "a/up2/a/up2/f",
    "escape/a/f",
    "d/e/home/d/e/home/a/f",
    "zz/../f",
    "f/..",
    "f/x",
    ...Array.from({ length: 3000 }, () => randomPath(6)),
  ]),
].filter((p) => p !== "" && !p.includes("\n"));

type Kernel = { ok: true; id: string } | { ok: false; errno: "ENOENT" | "ENOTDIR" | "ELOOP" | string };

/** `stat` (or `stat -L`) of every path, by busybox chrooted into the root: the kernel's answer. */
function kernelStat(paths: string[], follow: boolean): Kernel[] {
  const script = `while IFS= read -r p; do if out=$(/busybox stat ${follow ? "-L " : ""}-c '%d:%i' -- "$p" 2>&1); then echo "OK $out"; else echo "ERR $out"; fi; done`;
  const r = spawnSync("chroot", [root, "/busybox", "sh", "-c", script], {
    input: `${paths.join("\n")}\n`,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`chroot failed: ${r.stderr}`);
  const lines = r.stdout.trimEnd().split("\n");
  expect(lines).toHaveLength(paths.length);
  return lines.map((l) => {
    if (l.startsWith("OK ")) return { ok: true, id: l.slice(3) };
    if (/No such file/.test(l)) return { ok: false, errno: "ENOENT" };
    if (/Not a directory/.test(l)) return { ok: false, errno: "ENOTDIR" };
    if (/loop|levels of symbolic/i.test(l)) return { ok: false, errno: "ELOOP" };
    return { ok: false, errno: l };
  });
}

function ours(path: string, followLast: boolean): Kernel {
  try {
    const r = resolvePath(diskLookup(root), path, { followLast });
    if (r.missing.length > 0 || r.passedMissing) return { ok: false, errno: "ENOENT" };
    // Not following the last component means not looking at it: lstat says whether it is there.
    const st = lstatSync(inRoot(root, r.path), { throwIfNoEntry: false });
    if (!st) return { ok: false, errno: "ENOENT" };
    return { ok: true, id: `${st.dev}:${st.ino}` };
  } catch (e) {
    if (!(e instanceof PathResolveError)) throw e;
    if (e.afterMissing) return { ok: false, errno: "ENOENT" }; // the kernel stops at the first missing part
    return {
      ok: false,
      errno:
        e.code === "MOLT_PATH_LOOP" ? "ELOOP" : e.code === "MOLT_PATH_NOT_DIRECTORY" ? "ENOTDIR" : e.code,
    };
  }
}

describe.skipIf(process.getuid?.() !== 0)(
  "resolvePath agrees with the kernel's path walk in a chroot",
  () => {
    test.each([true, false])(`%s: followLast (stat -L) / not (stat), ${PATHS.length} paths`, (follow) => {
      const kernel = kernelStat(PATHS, follow);
      const diffs: string[] = [];
      PATHS.forEach((p, i) => {
        const k = kernel[i]!;
        const o = ours(p, follow);
        if (JSON.stringify(k) !== JSON.stringify(o))
          diffs.push(`${p}: kernel ${JSON.stringify(k)}, ours ${JSON.stringify(o)}`);
      });
      expect(diffs).toEqual([]);
      // The tree exercises every outcome.
      expect(new Set(kernel.map((k) => (k.ok ? "ok" : k.errno)))).toEqual(
        new Set(["ok", "ENOENT", "ENOTDIR", "ELOOP"]),
      );
    });
  },
);

describe("resolvePath options", () => {
  test("a resolved path never leaves the root, and missing parts are kept for creation", () => {
    expect(resolvePath(diskLookup(root), "/escape/up/../../a/f").path).toBe("a/f");
    expect(resolvePath(diskLookup(root), "abs/new/dir")).toEqual({
      path: "a/b/new/dir",
      existing: "a/b",
      missing: ["new", "dir"],
      passedMissing: true,
    });
    expect(resolvePath(diskLookup(root), "abs", { followLast: false }).path).toBe("abs");
  });

  test("dotdot: refuse rejects a path that climbs above the root (links still clamp)", () => {
    expect(() => resolvePath(diskLookup(root), "a/../../f", { dotdot: "refuse" })).toThrow(
      expect.objectContaining({ code: "MOLT_PATH_ESCAPE" }),
    );
    expect(resolvePath(diskLookup(root), "up/f", { dotdot: "refuse" }).path).toBe("a/f");
    expect(() => cleanRootPath("../x", { dotdot: "refuse" })).toThrow(PathResolveError);
    expect(cleanRootPath("../../etc//./passwd")).toBe("etc/passwd");
  });

  test("notDirectory: missing treats a file in the middle as absence", () => {
    expect(resolvePath(diskLookup(root), "f/x", { notDirectory: "missing" })).toMatchObject({
      existing: "f",
      missing: ["x"],
    });
  });

  test("the async forms give the same answers", async () => {
    for (const p of PATHS.slice(0, 300)) {
      const sync = (() => {
        try {
          return resolvePath(diskLookup(root), p);
        } catch (e) {
          return (e as Error).message;
        }
      })();
      const async = await resolvePathAsync(diskLookup(root), p).catch((e: Error) => e.message);
      expect(async).toEqual(sync);
    }
    expect((await resolveInRoot(root, "/abs/g")).hostPath).toBe(join(root, "a/b/g"));
  });
});

describe("the lexical cleaners", () => {
  test("cleanRootPath: clamp, refuse (only above the root) and forbid (any '..')", () => {
    expect(cleanRootPath("../../etc//./passwd")).toBe("etc/passwd");
    expect(cleanRootPath("/a/./b/")).toBe("a/b");
    expect(cleanRootPath("a/../b", { dotdot: "refuse" })).toBe("b");
    expect(() => cleanRootPath("a/../../b", { dotdot: "refuse" })).toThrow(/climbs above the root/);
    expect(cleanRootPath("./a//b/.", { dotdot: "forbid" })).toBe("a/b");
    expect(() => cleanRootPath("a/../b", { dotdot: "forbid" })).toThrow(PathResolveError);
    expect(() => cleanRootPath("a/b/..", { dotdot: "forbid" })).toThrow(/not allowed/);
  });

  // The examples of Go's path.Clean documentation and its rules, written from the spec.
  test.each([
    ["", "."],
    ["a/c", "a/c"],
    ["a//c", "a/c"],
    ["a/c/.", "a/c"],
    ["a/c/b/..", "a/c"],
    ["/../a/c", "/a/c"],
    ["/../a/b/../././/c", "/a/c"],
    ["../a", "../a"],
    ["a/../..", ".."],
    ["../../x/../y", "../../y"],
    ["/", "/"],
    ["./", "."],
  ])("cleanLexicalPath(%j) is Go's %j", (input, want) => {
    expect(cleanLexicalPath(input)).toBe(want);
  });
});
