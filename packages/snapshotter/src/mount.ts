import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import createDebug from "debug";
import type { ShellHelper } from "./shell.js";

/** `s` as one shell word. */
const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

const debug = createDebug("molt:snapshot");

/**
 * Runs a command, through `helper` when given (a long-lived {@link ShellHelper}, so the cost does
 * not grow with Node's heap), else with a direct spawn. A helper that holds a private mount
 * namespace is never replaced by a direct spawn: that would act on this process's namespace.
 */
async function exec(
  cmd: string,
  args: string[],
  helper?: ShellHelper,
): Promise<{ code: number; err: string }> {
  if (helper) {
    try {
      const r = await helper.run([cmd, ...args]);
      return { code: r.code, err: r.out.trim() };
    } catch (e) {
      if (helper.mountNamespacePid !== undefined) return { code: -1, err: (e as Error).message };
      debug("shell helper failed (%s): spawning directly", (e as Error).message);
    }
  }
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", (e) => resolve({ code: -1, err: e.message }));
    child.on("close", (code) => resolve({ code: code ?? -1, err: err.trim() }));
  });
}

/**
 * Options that keep the upper directory a plain, self-contained change set: no redirects (a
 * renamed lower directory is copied instead), no metadata-only copy-ups, no index.
 */
const STRICT = "redirect_dir=off,metacopy=off,index=off";
/**
 * `volatile` skips the sync of the upper filesystem at unmount (which would flush every dirty
 * page of the root's filesystem): the upper directory is merged right away and a crash
 * mid-step fails the build anyway.
 */
const VOLATILE = "volatile";

/** Mounts an overlay of `lower` (read-only) under `upper` at `merged`. Returns the error text on failure. */
export async function mountOverlay(
  lower: string,
  upper: string,
  work: string,
  merged: string,
  helper?: ShellHelper,
): Promise<string | null> {
  if (/[,:\\]/.test(lower + upper + work)) return "paths contain ',', ':' or '\\'";
  const base = `lowerdir=${lower},upperdir=${upper},workdir=${work}`;
  let r = await exec(
    "mount",
    ["-t", "overlay", "overlay", "-o", `${base},${STRICT},${VOLATILE}`, merged],
    helper,
  );
  if (r.code !== 0) {
    debug("overlay mount with %s failed (%s); retrying without volatile", VOLATILE, r.err);
    r = await exec("mount", ["-t", "overlay", "overlay", "-o", `${base},${STRICT}`, merged], helper);
  }
  if (r.code !== 0) {
    debug("overlay mount with %s failed (%s); retrying without", STRICT, r.err);
    r = await exec("mount", ["-t", "overlay", "overlay", "-o", base, merged], helper);
  }
  return r.code === 0 ? null : r.err || `mount exited ${r.code}`;
}

/**
 * Unmounts the overlay at `merged` and dumps every extended attribute under `upper` in one
 * process (each process start costs milliseconds; the overlay step budget is tens of them).
 * Returns getfattr's output (empty when getfattr is missing).
 */
export async function unmountAndDumpXattrs(
  merged: string,
  upper: string,
  helper?: ShellHelper,
): Promise<string> {
  const script =
    'umount "$1" 2>/dev/null || umount -l "$1" || exit 90\n' +
    "command -v getfattr >/dev/null 2>&1 || exit 0\n" +
    'getfattr -R -P -d -m - -e hex --absolute-names -- "$2" 2>/dev/null\nexit 0\n';
  if (helper) {
    let r: { code: number; out: string } | undefined;
    try {
      // The same script in the helper shell itself (no `sh -c` child: one process start less
      // per RUN), written without `exit`, which would end the helper.
      const m = shellQuote(merged);
      r = await helper.script(
        `if umount ${m} 2>/dev/null || umount -l ${m} 2>/dev/null; then ` +
          `if command -v getfattr >/dev/null 2>&1; then getfattr -R -P -d -m - -e hex --absolute-names -- ${shellQuote(upper)} 2>/dev/null; fi; true; ` +
          "else false; fi",
      );
    } catch (e) {
      if (helper.mountNamespacePid !== undefined) throw e;
      debug("shell helper failed (%s): spawning directly", (e as Error).message);
    }
    if (r && r.code !== 0) throw new Error(`cannot unmount ${merged} (exit ${r.code})`);
    if (r) return r.out;
  }
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script, "sh", merged, upper], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`cannot unmount ${merged}: ${err.trim() || `exit ${code}`}`));
      else resolve(Buffer.concat(out).toString("latin1"));
    });
  });
}

/** Unmounts `dir`, lazily if it is busy. */
export async function unmount(dir: string, helper?: ShellHelper): Promise<void> {
  const r = await exec("umount", [dir], helper);
  if (r.code === 0) return;
  debug("umount %s failed (%s); detaching lazily", dir, r.err);
  const l = await exec("umount", ["-l", dir], helper);
  if (l.code !== 0) throw new Error(`cannot unmount ${dir}: ${l.err || r.err}`);
}

/**
 * Whether an overlay can be mounted here (through `helper` when given), tried for real in a
 * scratch directory under `workDir`.
 */
export async function canMountOverlay(workDir: string, helper?: ShellHelper): Promise<string | null> {
  await mkdir(workDir, { recursive: true });
  const dir = await mkdtemp(join(workDir, "probe-"));
  try {
    for (const d of ["lower", "upper", "work", "merged"]) await mkdir(join(dir, d));
    const err = await mountOverlay(
      join(dir, "lower"),
      join(dir, "upper"),
      join(dir, "work"),
      join(dir, "merged"),
      helper,
    );
    if (err) return err;
    await unmount(join(dir, "merged"), helper);
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/**
 * Mount points strictly below `root` (relative paths), read from `/proc/self/mountinfo` and, when
 * given, from the mount table of process `pid` (a {@link ShellHelper}'s private namespace).
 */
export function mountsBelow(root: string, pid?: number): string[] {
  let text = "";
  for (const who of pid === undefined ? ["self"] : ["self", String(pid)]) {
    try {
      text += `${readFileSync(`/proc/${who}/mountinfo`, "utf8")}\n`;
    } catch {
      // gone: nothing mounted there any more
    }
  }
  const out = new Set<string>();
  const prefix = root === "" ? "/" : `${root}/`;
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 5) continue;
    const mp = unescapeMount(f[4]!);
    if (mp.startsWith(prefix) && mp.length > prefix.length) out.add(mp.slice(prefix.length));
  }
  return [...out];
}
