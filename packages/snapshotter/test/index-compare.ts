import type { Baseline, RootIndex } from "../src/index.js";

/**
 * Where a {@link RootIndex} disagrees with the {@link Baseline} extraction recorded (itself checked
 * against the disk): every path, its type, mode, owner, size, link target, and the time of
 * everything but directories when `dirTimes` is false (a directory that a later layer changed
 * without listing it gets the clock's time on disk).
 */
export function indexDifferences(baseline: Baseline, index: RootIndex, dirTimes = false): string[] {
  const out: string[] = [];
  for (const [path, e] of baseline.entries()) {
    if (path === "") continue;
    const n = index.get(path);
    if (!n) {
      out.push(`${path}: missing from the index`);
      continue;
    }
    const want = { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, link: e.linkTarget };
    const got = {
      type: n.type,
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      size: n.type === "file" ? n.size : 0,
      link: n.linkTarget,
    };
    if (JSON.stringify(want) !== JSON.stringify(got))
      out.push(`${path}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
    if ((dirTimes || e.type !== "directory") && n.mtimeNs !== e.mtimeNs)
      out.push(`${path}: mtime ${n.mtimeNs} != ${e.mtimeNs}`);
  }
  if (index.size !== baseline.size) out.push(`index has ${index.size} paths, extraction ${baseline.size}`);
  return out;
}
