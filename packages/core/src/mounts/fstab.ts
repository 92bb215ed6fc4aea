import type { RunMount } from "./types.js";

/** fstab escaping: space, tab, newline and backslash as octal. */
function esc(p: string): string {
  return p.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/**
 * The fstab lines that make `mounts` at the already resolved host targets (see
 * `prepareTargets`), for a run's `mount -a` inside its private mount namespace (parents first).
 * `ro` makes util-linux remount a bind read-only; tmpfs gets `nosuid,nodev` and its size.
 */
export function mountFstabLines(mounts: readonly RunMount[], hostTargets: readonly string[]): string[] {
  const order = mounts.map((m, i) => ({ m, t: hostTargets[i]! })).sort((a, b) => a.t.length - b.t.length);
  return order.map(({ m, t }) => {
    if (m.type === "tmpfs") {
      const size = m.size !== undefined ? `,size=${m.size}` : "";
      return `tmpfs ${esc(t)} tmpfs nosuid,nodev,mode=1777${size} 0 0`;
    }
    return `${esc(m.source)} ${esc(t)} none ${m.readonly ? "bind,ro" : "bind"} 0 0`;
  });
}
