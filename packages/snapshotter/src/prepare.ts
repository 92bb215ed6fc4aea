import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import createDebug from "debug";
import { cleanRoot } from "./extract.js";
import { canMountOverlay } from "./mount.js";
import { ShellHelper } from "./shell.js";

const debug = createDebug("molt:snapshot");

/** What {@link prepareSnapshotter} needs: the options of `createSnapshotter` that decide its set-up. */
export interface PrepareOptions {
  /** As `SnapshotterOptions.mode`. */
  mode?: "auto" | "walk" | "overlay";
  /** As `SnapshotterOptions.workDir`. */
  workDir?: string;
  /** As `SnapshotterOptions.privateMountNamespace`. */
  privateMountNamespace?: boolean;
}

/** The set-up of a snapshotter, as made by {@link prepareSnapshotter}. */
export interface SnapshotterSetup {
  /** The snapshotter's own directory (`.<root>.molt-snapshot-XXXXXX` in the work dir). */
  workDir: string;
  /** The helper shell that mounts for it (not started in walk mode). */
  helper: ShellHelper | undefined;
  /** Why an overlay cannot be mounted here, or null when it can (null in walk mode too). */
  overlayError: string | null;
}

/**
 * A snapshotter's set-up started ahead: its work directory, its helper shell (a process start)
 * and the overlay check (a test mount), made while the caller still extracts the root. Hand it
 * to `createSnapshotter` (`options.prepared`), which then waits for nothing it could have done
 * earlier, or {@link PreparedSnapshotter.discard} it when no snapshotter will be made.
 */
export interface PreparedSnapshotter {
  /** Takes the set-up (once; `createSnapshotter` does). */
  take(): Promise<SnapshotterSetup>;
  /** Closes the helper and removes the work directory, unless the set-up was taken. */
  discard(): Promise<void>;
}

/**
 * Starts what `createSnapshotter(root, options)` would do first — make its work directory,
 * start its helper shell and try an overlay mount there — without the root's baseline, so it
 * can run beside the extraction of that root (issue 16: 15-60 ms of a small build's first RUN).
 * Nothing here reads the root. Never rejects; a failure surfaces from `take()`.
 *
 * @example
 * ```ts
 * const prepared = prepareSnapshotter(root, { workDir });
 * let baseline;
 * try {
 *   baseline = await extract(layers, root);
 * } catch (e) {
 *   await prepared.discard();
 *   throw e;
 * }
 * const snap = await createSnapshotter(root, { baseline, workDir, prepared });
 * ```
 */
export function prepareSnapshotter(root: string, options: PrepareOptions = {}): PreparedSnapshotter {
  const setup = makeSetup(root, options);
  setup.catch(() => {});
  let taken = false;
  return {
    take() {
      if (taken) return Promise.reject(new Error("this snapshotter set-up was already taken"));
      taken = true;
      return setup;
    },
    async discard() {
      if (taken) return;
      taken = true;
      const s = await setup.catch(() => undefined);
      if (!s) return;
      s.helper?.close();
      await rm(s.workDir, { recursive: true, force: true });
    },
  };
}

/** Makes the work directory, starts the helper (not for walk) and checks overlay there. */
export async function makeSetup(root: string, options: PrepareOptions): Promise<SnapshotterSetup> {
  const rootAbs = cleanRoot(root);
  const parentDir = options.workDir ?? dirname(rootAbs || "/");
  // Our own directory inside workDir: close() removes only what we made.
  await mkdir(parentDir, { recursive: true });
  const workDir = await mkdtemp(join(parentDir, `.${basename(rootAbs) || "root"}.molt-snapshot-`));
  const wanted = options.mode ?? "auto";
  if (wanted === "walk") return { workDir, helper: undefined, overlayError: null };
  // One long-lived shell runs mount/umount/getfattr for this snapshotter (see ShellHelper).
  const helper = await ShellHelper.start({ privateMounts: options.privateMountNamespace ?? true });
  const overlayError = await canMountOverlay(workDir, helper);
  if (overlayError !== null) debug("overlay check in %s: %s", workDir, overlayError);
  return { workDir, helper, overlayError };
}
