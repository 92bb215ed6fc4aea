import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Change } from "@molt/oci";
import createDebug from "debug";
import type { Baseline } from "./baseline.js";
import { SnapshotError, throwIfAborted } from "./errors.js";
import { cleanRoot } from "./extract.js";
import { mountOverlay, mountsBelow, unmount, unmountAndDumpXattrs } from "./mount.js";
import { overlayChanges, readMergedListings } from "./overlay.js";
import { cleanPath } from "./paths.js";
import { makeSetup, type PreparedSnapshotter } from "./prepare.js";
import { scanTree } from "./scan.js";
import { walkChanges } from "./walk.js";
import { startXattrReader } from "./xattrs.js";

const debug = createDebug("molt:snapshot");

/**
 * Paths (relative to the root) never snapshotted: kernel filesystems a runner mounts into the
 * root. Mount points found below the root at each step, and paths the caller adds (e.g. VOLUME
 * paths), are ignored too.
 */
export const DEFAULT_IGNORE: readonly string[] = ["proc", "sys", "dev"];

/** One step (one instruction) in progress. */
export interface Step {
  /**
   * The directory the step must run in: the root itself (walk) or the overlay's merged directory.
   * When {@link Step.mountNamespacePid} is set, the overlay is mounted in that process's private
   * mount namespace only and this is the path through which this process sees it,
   * `/proc/<pid>/root/<merged>`: fine for reading and writing (never through `realpath`, which
   * reads `/proc/<pid>/root` as `/`), while a command that mounts over it must enter that
   * namespace (`nsenter -t <pid> -m`) and use the path without the `/proc/<pid>/root` prefix.
   */
  readonly rootfs: string;
  /** The pid of the process whose private mount namespace holds this step's overlay, if any. */
  readonly mountNamespacePid?: number;
  /**
   * Ends the step and returns what it changed, sorted by path (parents first; for one path a
   * `delete`/`opaque` precedes its `add`). The changes are already applied to the snapshotter's
   * root, and every `source` points into the root: it stays valid until the next `begin()`.
   */
  finish(options?: { signal?: AbortSignal }): Promise<Change[]>;
  /** Ends the step without recording it (overlay: the changes are discarded; walk: they stay on disk and show up in the next step). */
  abort(): Promise<void>;
}

/** Owns a stage's root directory and tells, step by step, what changed in it. */
export interface Snapshotter {
  /** How changes are detected: walking the root and comparing with the baseline, or reading an overlay's upper directory. */
  readonly mode: "walk" | "overlay";
  /** The stage root (absolute). */
  readonly root: string;
  /** The index of the root as of the last finished step. */
  readonly baseline: Baseline;
  /** Starts a step. Only one step can be active at a time. */
  begin(options?: { signal?: AbortSignal }): Promise<Step>;
  /** Adds paths (as the container sees them, e.g. `/data` for `VOLUME /data`) whose changes are never reported. */
  addIgnored(paths: string[]): void;
  /** Ends any active step, unmounts and removes everything the snapshotter made (never the root). */
  close(): Promise<void>;
}

/** Options of {@link createSnapshotter}. */
export interface SnapshotterOptions {
  /** `auto` (default) uses overlay when an overlay can be mounted here, walk otherwise. */
  mode?: "auto" | "walk" | "overlay";
  /** The root's exact index (from `extract`); without it the root is scanned once. */
  baseline?: Baseline;
  /** More paths to ignore, as the container sees them (`/var/run/secrets`). */
  ignore?: string[];
  /**
   * Directory under which the snapshotter makes its own `.<root>.molt-snapshot-XXXXXX` directory
   * for overlay upper/work directories (removed by `close()`); best on the root's filesystem so
   * merging is a rename. Default: the root's parent directory.
   */
  workDir?: string;
  /**
   * Overlay mode as root: mount each step's overlay in a private mount namespace held by a helper
   * process that dies with this one (default `true`), so a SIGKILL of this process leaves no
   * mount behind and the host's mount table never shows the step. `false` mounts in this
   * process's namespace (what happens anyway where no namespace can be made).
   */
  privateMountNamespace?: boolean;
  /**
   * The work directory, helper and overlay check made ahead by `prepareSnapshotter` (@molt/snapshotter) with
   * the same `mode`, `workDir` and `privateMountNamespace` (those options are then not read again).
   */
  prepared?: PreparedSnapshotter;
}

/**
 * Makes the {@link Snapshotter} that watches a stage's root once molt has extracted the image's
 * layers into it: what a build calls to diff the root after each RUN. {@link createSnapshotter}
 * is the default; pass your own as `build({ snapshotter })` (a wrapper that records, a
 * snapshotter for a filesystem of your own). `options.baseline` is the tree as extracted and
 * `options.mode` what the build asked for (`auto`, `walk`, `overlay`).
 *
 * @example
 * ```ts
 * import { build, createSnapshotter, type SnapshotterFactory } from "molt";
 * const steps: string[] = [];
 * const snapshotter: SnapshotterFactory = async (root, options) => {
 *   const inner = await createSnapshotter(root, options);
 *   return {
 *     mode: inner.mode, root: inner.root, baseline: inner.baseline,
 *     begin: async (o) => { steps.push(root); return inner.begin(o); },
 *     addIgnored: (paths) => inner.addIgnored(paths),
 *     close: () => inner.close(),
 *   };
 * };
 * await build({ context: ".", noPush: true, ociLayoutPath: "out", snapshotter });
 * ```
 */
export type SnapshotterFactory = (root: string, options: SnapshotterOptions) => Promise<Snapshotter>;

/**
 * Creates the snapshotter of a stage root. In overlay mode every step runs in a fresh overlay
 * mount over the root, and the overlay's upper directory *is* the change set: nothing unchanged
 * is walked. In walk mode (no mount privilege) the root is walked and compared with the
 * baseline. Both report the same changes for the same step.
 *
 * @example
 * ```ts
 * const baseline = await extract(layers, root);
 * const snap = await createSnapshotter(root, { baseline });
 * const step = await snap.begin();
 * await runCommand(step.rootfs, "apt-get install -y curl");
 * const changes = await step.finish(); // Change[] for the layer writer
 * await snap.close();
 * ```
 */
export async function createSnapshotter(
  root: string,
  options: SnapshotterOptions = {},
): Promise<Snapshotter> {
  const rootAbs = cleanRoot(root);
  const wanted = options.mode ?? "auto";
  // Work directory, helper shell and overlay check: made ahead beside the extraction when the
  // caller prepared them (prepareSnapshotter), else now.
  const setup = options.prepared ? await options.prepared.take() : await makeSetup(root, options);
  const workDir = setup.workDir;
  let helper = setup.helper;
  let mode: "walk" | "overlay" = "walk";
  if (wanted !== "walk") {
    const err = setup.overlayError;
    if (err === null) mode = "overlay";
    else if (wanted === "overlay") {
      helper?.close();
      await rm(workDir, { recursive: true, force: true });
      throw new SnapshotError(`cannot mount overlayfs: ${err}`);
    } else debug("overlay not possible here (%s): falling back to walk mode", err);
  }
  if (mode === "walk" && helper) {
    // Walk mode mounts nothing: no helper (nor namespace) is kept for it.
    helper.close();
    helper = undefined;
  }
  const nsPid = helper?.mountNamespacePid;
  const ignore = new Set<string>(DEFAULT_IGNORE);
  const addIgnored = (paths: string[]) => {
    for (const p of paths) {
      const rel = cleanPath(p);
      if (rel !== "") ignore.add(rel);
    }
  };
  addIgnored(options.ignore ?? []);
  const currentIgnore = () => {
    const s = new Set(ignore);
    for (const m of mountsBelow(rootAbs, nsPid)) s.add(m);
    return s;
  };
  const baseline = options.baseline ?? (await scanTree(rootAbs, { ignore: currentIgnore() }));
  debug("snapshotter on %s: %s mode", rootAbs, mode);
  let active: { end(): Promise<void> } | undefined;
  let closed = false;

  const beginWalk = async (): Promise<Step> => {
    let done = false;
    // Started now, while the step runs, so finish() pays no process start for xattrs.
    let xattrReader = startXattrReader();
    const step: Step = {
      rootfs: rootAbs || "/",
      async finish(o) {
        if (done) throw new SnapshotError("step already finished");
        let changes: Change[];
        try {
          throwIfAborted(o?.signal);
          changes = await walkChanges(rootAbs, baseline, currentIgnore(), { ...o, xattrReader });
        } catch (e) {
          // The step stays active (finish can be retried); the helper was used up or is unneeded.
          xattrReader.cancel();
          xattrReader = startXattrReader();
          throw e;
        }
        done = true;
        active = undefined;
        return changes;
      },
      async abort() {
        if (!done) xattrReader.cancel();
        done = true;
        active = undefined;
      },
    };
    active = { end: () => step.abort() };
    return step;
  };

  const beginOverlay = async (): Promise<Step> => {
    await mkdir(workDir, { recursive: true });
    const dir = await mkdtemp(join(workDir, "step-"));
    const upper = join(dir, "upper");
    const work = join(dir, "work");
    const merged = join(dir, "merged");
    for (const d of [upper, work, merged]) await mkdir(d);
    const err = await mountOverlay(rootAbs || "/", upper, work, merged, helper);
    if (err) {
      await rm(dir, { recursive: true, force: true });
      throw new SnapshotError(`cannot mount the step's overlay: ${err}`);
    }
    const pid = nsPid;
    const view = helper ? helper.view(merged) : merged;
    let done = false;
    const end = async () => {
      done = true;
      active = undefined;
      try {
        await unmount(merged, helper);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };
    const step: Step = {
      rootfs: view,
      ...(pid !== undefined ? { mountNamespacePid: pid } : {}),
      async finish(o) {
        if (done) throw new SnapshotError("step already finished");
        throwIfAborted(o?.signal);
        done = true;
        try {
          const visible = readMergedListings(upper, view);
          const dump = await unmountAndDumpXattrs(merged, upper, helper);
          return await overlayChanges(upper, rootAbs, baseline, currentIgnore(), dump, visible, helper);
        } catch (e) {
          throw e instanceof SnapshotError
            ? e
            : new SnapshotError(`cannot record the step: ${(e as Error).message}`, { cause: e });
        } finally {
          active = undefined;
          await rm(dir, { recursive: true, force: true });
        }
      },
      abort: () => (done ? Promise.resolve() : end()),
    };
    active = { end: step.abort };
    return step;
  };

  return {
    mode,
    root: rootAbs || "/",
    baseline,
    addIgnored,
    async begin(o) {
      if (closed) throw new SnapshotError("snapshotter is closed");
      if (active) throw new SnapshotError("a step is already active: finish or abort it first");
      throwIfAborted(o?.signal);
      return mode === "overlay" ? beginOverlay() : beginWalk();
    },
    async close() {
      if (closed) return;
      closed = true;
      await active?.end();
      helper?.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
