import { linkSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { RunnerSetupError } from "../runner/errors.js";
import { setMtime } from "../runner/mount-points.js";
import { copyTree } from "./copy-tree.js";
import { prepareTargets, removeTargets } from "./targets.js";
import type { RunMount } from "./types.js";

/** Undoes `materialiseMounts`. */
export interface Materialised {
  /** Writes cache content back, takes every mount's content out of the root, puts the image's back. */
  restore(): Promise<void>;
}

/** The limitations of runners that cannot mount, for their `limitations` list. */
export const MATERIALISED_LIMITATIONS = [
  "RUN --mount content is copied into the root for the command and taken out after (no mounts here): ro is not enforced, tmpfs size is not enforced, and a mount over an existing path hides it under <parent>/.molt-hidden-* during the command",
];

// Synchronous metadata calls (renames, small removals): far cheaper than thread-pool round
// trips, which cost milliseconds each on a loaded machine. Copies stay asynchronous.
function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** `cp -a` (owners, modes, times, links kept; Node's `fs.cp` keeps no owners), in process for small trees. */
const cp = copyTree;

async function moveOrCopy(from: string, to: string): Promise<void> {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    await cp(from, to);
    rmSync(from, { recursive: true, force: true });
  }
}

/**
 * For runners without mounts (chroot alone, in-place): puts each mount's content at its target
 * inside `root` for the command. A target that exists in the image is moved aside first (to a
 * `.molt-hidden-*` sibling) and put back after; cache content (`persist`) is moved in and moved
 * back (renamed when on the same filesystem), other sources are copied in and dropped after;
 * sockets are hard-linked. Parent directories get their mtimes back, so nothing reaches a layer.
 */
export async function materialiseMounts(
  root: string,
  mounts: readonly RunMount[],
  touch: string | undefined,
): Promise<Materialised> {
  const hidden: { target: string; aside: string; parentMtime: bigint }[] = [];
  const placed: { m: RunMount; host: string }[] = [];
  // Hide what the image has at each existing target, then create targets as for a mount.
  const first = await prepareTargets(root, mounts);
  const ordered = mounts.map((m, i) => ({ m, host: first.hostTargets[i]! }));
  ordered.sort((a, b) => a.host.length - b.host.length);
  const restore = async () => {
    for (const { m, host } of [...placed].reverse()) {
      if (m.type === "bind" && m.persist) {
        rmSync(m.source, { recursive: true, force: true });
        await moveOrCopy(host, m.source);
        try {
          mkdirSync(host, { mode: 0o755 });
        } catch {
          // already there
        }
      } else if (statSync(host, { throwIfNoEntry: false })?.isDirectory()) {
        for (const n of readdirSync(host)) rmSync(`${host}/${n}`, { recursive: true, force: true });
      } else rmSync(host, { force: true });
    }
    await removeTargets(first, touch);
    for (const h of [...hidden].reverse()) {
      rmSync(h.target, { recursive: true, force: true });
      renameSync(h.aside, h.target);
      await setMtime(dirname(h.target), h.parentMtime, touch).catch(() => {});
    }
  };
  try {
    const createdSet = new Set(first.created.map((c) => c.path));
    for (const { m, host } of ordered) {
      if (!createdSet.has(host)) {
        // The image has something here: set it aside, leave an empty stand-in of the same kind.
        const parent = dirname(host);
        const parentMtime = statSync(parent, { bigint: true }).mtimeNs;
        const aside = `${parent}/.molt-hidden-${process.pid}-${hidden.length}`;
        const wasDir = lstatSync(host).isDirectory();
        renameSync(host, aside);
        hidden.push({ target: host, aside, parentMtime });
        if (wasDir) mkdirSync(host, { mode: 0o755 });
      }
      if (m.type === "tmpfs") {
        placed.push({ m, host });
        continue;
      }
      const st = statSync(m.source);
      if (st.isSocket()) {
        rmSync(host, { force: true });
        try {
          linkSync(m.source, host);
        } catch (e) {
          throw new RunnerSetupError(
            `cannot put the socket for ${m.target} into the root without mounts (${(e as NodeJS.ErrnoException).code}): keep the build's temp dir on the root's filesystem`,
          );
        }
      } else if (st.isDirectory()) {
        rmSync(host, { recursive: true, force: true });
        if (m.persist) await moveOrCopy(m.source, host);
        else await cp(m.source, host);
      } else {
        rmSync(host, { force: true });
        await cp(m.source, host);
      }
      placed.push({ m, host });
    }
  } catch (e) {
    await restore().catch(() => {});
    throw e;
  }
  if (!exists(root)) throw new RunnerSetupError(`the root ${root} vanished`);
  return { restore };
}
