import type { IdMap, IdRange } from "./types.js";

function map(ranges: readonly IdRange[], id: number, from: "inside" | "outside"): number | undefined {
  const to = from === "inside" ? "outside" : "inside";
  for (const r of ranges) if (id >= r[from] && id < r[from] + r.count) return r[to] + (id - r[from]);
  return undefined;
}

/**
 * The container id that a host uid/gid on disk stands for under `idMap` (a rootless runner's
 * {@link Runner.idMap}); undefined when the host id is not mapped (it shows as `nobody` inside).
 *
 * @example
 * ```ts
 * hostToContainerId(runner.idMap!, "uid", stat.uid) // 1000 for a file a RUN as uid 1000 wrote
 * ```
 */
export function hostToContainerId(idMap: IdMap, kind: "uid" | "gid", hostId: number): number | undefined {
  return map(idMap[kind], hostId, "outside");
}

/** The host id a container uid/gid is stored as on disk under `idMap`; undefined when unmapped. */
export function containerToHostId(
  idMap: IdMap,
  kind: "uid" | "gid",
  containerId: number,
): number | undefined {
  return map(idMap[kind], containerId, "inside");
}
