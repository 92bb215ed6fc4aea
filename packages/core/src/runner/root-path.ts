import { chown, lstat, mkdir, readlink } from "node:fs/promises";
import { RunnerSetupError } from "./errors.js";

const MAX_LINKS = 40;

/** Where a container path lands on the host, resolved without ever leaving the root. */
export interface RootPath {
  /** Host path of the deepest existing component, or of the whole path when it exists. */
  hostPath: string;
  /** Components (after `hostPath`) that do not exist yet; empty when the path exists. */
  missing: string[];
}

function split(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * Resolves `containerPath` inside `root` the way the kernel would after `chroot(root)`:
 * `..` never climbs above the root and symlinks (absolute or relative) are followed inside it.
 * Every returned host path is made of real directories under `root`, so opening it cannot
 * escape. `followLast: false` leaves a final symlink unresolved (for lstat-like questions).
 */
export async function resolveInRoot(
  root: string,
  containerPath: string,
  options: { followLast?: boolean } = {},
): Promise<RootPath> {
  const followLast = options.followLast ?? true;
  const base = root.endsWith("/") && root !== "/" ? root.slice(0, -1) : root;
  const host = (parts: string[]) => (parts.length ? `${base === "/" ? "" : base}/${parts.join("/")}` : base);
  let todo = split(containerPath);
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === "..") {
      done.pop();
      continue;
    }
    const candidate = host([...done, c]);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(candidate);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        return { hostPath: host(done), missing: [c, ...todo] };
      }
      throw e;
    }
    if (st.isSymbolicLink() && (todo.length > 0 || followLast)) {
      if (++links > MAX_LINKS) {
        throw new RunnerSetupError(
          `too many levels of symbolic links resolving ${containerPath} in the root`,
        );
      }
      const target = await readlink(candidate);
      if (target.startsWith("/")) done.length = 0;
      todo = [...split(target), ...todo];
      continue;
    }
    if (todo.length > 0 && !st.isDirectory()) {
      throw new RunnerSetupError(`${containerPath}: a component is not a directory in the root`);
    }
    done.push(c);
  }
  return { hostPath: host(done), missing: [] };
}

/**
 * Creates the directory `containerPath` inside `root` (like `mkdir -p`, symlinks followed
 * inside the root) with mode 0755; components it creates are chowned to `owner` when given.
 * Returns the host path of the directory.
 */
export async function mkdirInRoot(
  root: string,
  containerPath: string,
  owner?: { uid: number; gid: number },
): Promise<string> {
  for (;;) {
    const r = await resolveInRoot(root, containerPath);
    if (r.missing.length === 0) {
      const st = await lstat(r.hostPath);
      if (!st.isDirectory())
        throw new RunnerSetupError(`${containerPath} exists in the root and is not a directory`);
      return r.hostPath;
    }
    // Create one component, then resolve again (the next one may be a symlink's target).
    const next = `${r.hostPath === "/" ? "" : r.hostPath}/${r.missing[0]}`;
    if (r.missing[0] === "..") throw new RunnerSetupError(`cannot create ${containerPath}`);
    try {
      await mkdir(next, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (owner) await chown(next, owner.uid, owner.gid);
  }
}
