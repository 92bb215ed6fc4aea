import type { Change } from "@molt/oci";
import type { Baseline } from "@molt/snapshotter";

/** The metadata of every directory in a baseline, keyed by path, to compare after a step. */
export type DirectoryStamp = Map<string, string>;

const stamp = (e: {
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  xattrs?: Record<string, Buffer>;
}) =>
  `${e.mode}:${e.uid}:${e.gid}:${e.mtimeNs}:${
    e.xattrs
      ? JSON.stringify(
          Object.entries(e.xattrs)
            .map(([k, v]) => [k, v.toString("base64")])
            .sort(),
        )
      : ""
  }`;

/** Records the directories of `baseline` before a step. */
export function stampDirectories(baseline: Baseline): DirectoryStamp {
  const out: DirectoryStamp = new Map();
  for (const [path, e] of baseline.entries()) if (e.type === "directory") out.set(path, stamp(e));
  return out;
}

/**
 * Drops directory additions that are not changes: a directory that existed before the step with
 * the same mode, owner, mtime and xattrs (an overlay copies a directory up when something inside
 * it was touched, e.g. a mount point the runner created and removed). Children that really
 * changed are reported on their own, and the layer writer adds their parents from the root.
 */
export function dropUnchangedDirectories(changes: Change[], before: DirectoryStamp): Change[] {
  return changes.filter(
    (c) => !(c.kind === "add" && c.entry.type === "directory" && before.get(c.entry.path) === stamp(c.entry)),
  );
}
