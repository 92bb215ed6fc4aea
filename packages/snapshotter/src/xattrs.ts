import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import createDebug from "debug";

const debug = createDebug("molt:snapshot");

/**
 * Node has no xattr API, so extended attributes go through the `attr` package's `getfattr` and
 * `setfattr`, batched: one process per step (or per layer), never one per file.
 */

function quote(path: string): string {
  let out = "";
  for (const b of Buffer.from(path, "utf8")) {
    if (b < 0x21 || b > 0x7e || b === 0x5c || b === 0x3d) out += `\\${b.toString(8).padStart(3, "0")}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

function unquote(s: string): string {
  if (!s.includes("\\")) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

function runTool(
  cmd: string,
  args: string[],
  input?: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        out: Buffer.concat(out).toString("latin1"),
        err: Buffer.concat(err).toString(),
      }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

let available: boolean | undefined;

/**
 * Whether an executable regular file `name` is in a directory of `PATH` (an empty entry is the
 * current directory, as for execvp), the one spawn would run.
 */
export function onPath(name: string, path = process.env.PATH ?? ""): boolean {
  for (const dir of path.split(":")) {
    const file = join(dir === "" ? "." : dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * Whether `getfattr`/`setfattr` can be run here: `getfattr` is on `PATH` (as the check that ran
 * `getfattr --version` asked; `setfattr` comes with it in Debian's attr). Looked up, not run: a
 * `getfattr --version` forked the whole Node process on the main thread (~20 ms of a warm
 * 20,000-file rebuild's critical path); a tool that is there but cannot run fails the read or
 * write that needs it, with its error, instead of being taken for absent.
 */
export async function xattrToolsAvailable(): Promise<boolean> {
  if (available === undefined) {
    available = onPath("getfattr");
    if (!available)
      debug("getfattr/setfattr not found (Debian package attr): xattrs are neither read nor written");
  }
  return available;
}

/** The one extended attribute a layer records (file capabilities). */
export const CAPABILITY_XATTR = "security.capability";

/**
 * The xattrs of a changed file that go into its layer entry: only `security.capability`, as in
 * BuildKit, whose layers are written by containerd's archive ChangeWriter (it reads that one
 * xattr of each changed file and no other). `user.*`, `trusted.*`, `security.selinux` and the
 * rest stay on disk for the next steps but are not in the layer. `undefined` when none is left.
 */
export function layerXattrs(xattrs: Record<string, Buffer> | undefined): Record<string, Buffer> | undefined {
  const cap = xattrs?.[CAPABILITY_XATTR];
  return cap ? { [CAPABILITY_XATTR]: cap } : undefined;
}

/**
 * overlayfs' private attributes (`trusted.overlay.*`, `user.overlay.*`). Files merged from an
 * overlay's upper directory keep them; they mean nothing outside an overlay and are never
 * reported or compared.
 */
export const isOverlayXattr = (name: string): boolean =>
  name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.");

/** Parses `getfattr -d -e hex --absolute-names` output into path → (name → value); by default without overlayfs' private names. */
export function parseGetfattr(
  text: string,
  filter: (name: string) => boolean = (n) => !isOverlayXattr(n),
): Map<string, Record<string, Buffer>> {
  const out = new Map<string, Record<string, Buffer>>();
  let current: Record<string, Buffer> | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      // Paths are printed byte-wise (latin1 read), with octal escapes for odd bytes.
      const raw = Buffer.from(line.slice(8), "latin1").toString("utf8");
      current = {};
      out.set(unquote(raw), current);
      continue;
    }
    if (!current || line === "") continue;
    const eq = line.indexOf("=");
    const name = eq < 0 ? line : line.slice(0, eq);
    if (!filter(name)) continue;
    const v = eq < 0 ? "" : line.slice(eq + 1);
    current[name] = v.startsWith("0x")
      ? Buffer.from(v.slice(2), "hex")
      : v.startsWith("0s")
        ? Buffer.from(v.slice(2), "base64")
        : Buffer.from(v.replace(/^"|"$/g, ""), "latin1");
  }
  for (const [p, x] of out) if (Object.keys(x).length === 0) out.delete(p);
  return out;
}

/**
 * Reads all extended attributes of `paths` (absolute, not following symlinks). Paths with none
 * are absent from the result. `filter` drops names (e.g. overlayfs' own `trusted.overlay.*`).
 */
export async function readXattrs(
  paths: string[],
  filter?: (name: string) => boolean,
): Promise<Map<string, Record<string, Buffer>>> {
  const result = new Map<string, Record<string, Buffer>>();
  if (paths.length === 0 || !(await xattrToolsAvailable())) return result;
  for (let i = 0; i < paths.length; i += 2000) {
    const batch = paths.slice(i, i + 2000);
    const r = await runTool("getfattr", [
      "-d",
      "-m",
      "-",
      "-h",
      "-e",
      "hex",
      "--absolute-names",
      "--",
      ...batch,
    ]);
    for (const [p, x] of parseGetfattr(r.out, filter)) result.set(p, x);
  }
  return result;
}

/** Reads extended attributes of everything under `dir` (recursively, one process). */
export async function readXattrsTree(
  dir: string,
  filter?: (name: string) => boolean,
): Promise<Map<string, Record<string, Buffer>>> {
  if (!(await xattrToolsAvailable())) return new Map();
  const r = await runTool("getfattr", [
    "-R",
    "-P",
    "-d",
    "-m",
    "-",
    "-h",
    "-e",
    "hex",
    "--absolute-names",
    "--",
    dir,
  ]);
  return parseGetfattr(r.out, filter);
}

/** Sets extended attributes on many absolute paths (not following symlinks) with one `setfattr --restore`. */
export async function writeXattrs(
  items: Array<{ path: string; xattrs: Record<string, Buffer> }>,
): Promise<void> {
  if (items.length === 0) return;
  if (!(await xattrToolsAvailable())) throw new Error("setfattr is not installed (Debian package attr)");
  let dump = "";
  for (const { path, xattrs } of items) {
    dump += `# file: ${quote(path)}\n`;
    for (const [k, v] of Object.entries(xattrs)) dump += `${k}=0x${v.toString("hex")}\n`;
    dump += "\n";
  }
  const r = await runTool("setfattr", ["-h", "--restore=-"], dump);
  if (r.code !== 0) throw new Error(`setfattr failed: ${r.err.trim()}`);
}

/** A `getfattr` started ahead of time (see {@link startXattrReader}). */
export interface PendingXattrReader {
  /** Reads the xattrs of `paths` (absolute, not following symlinks); call once. */
  read(paths: string[]): Promise<Map<string, Record<string, Buffer>>>;
  /** Stops the helper without reading. */
  cancel(): void;
}

/**
 * Starts `xargs -0 getfattr …` now, so that reading the xattrs of a step's changes later costs
 * no process start from Node (a fork of a large process costs milliseconds): the paths are
 * written to its stdin when known. Falls back to {@link readXattrs} if it cannot start.
 */
export function startXattrReader(): PendingXattrReader {
  let child: ReturnType<typeof spawn> | undefined;
  try {
    child = spawn(
      "xargs",
      ["-0", "-r", "getfattr", "-d", "-m", "-", "-h", "-e", "hex", "--absolute-names", "--"],
      {
        stdio: ["pipe", "pipe", "ignore"],
      },
    );
  } catch {
    child = undefined;
  }
  const out: Buffer[] = [];
  let failed = false;
  child?.on("error", () => {
    failed = true;
  });
  child?.stdout?.on("data", (d: Buffer) => out.push(d));
  child?.stdin?.on("error", () => {});
  const closed = child ? new Promise<void>((r) => child.once("close", () => r())) : Promise.resolve();
  return {
    async read(paths) {
      if (!child || failed) return readXattrs(paths);
      let input = "";
      for (const p of paths) input += `${p}\0`;
      child.stdin?.end(input);
      await closed;
      if (failed) return readXattrs(paths);
      return parseGetfattr(Buffer.concat(out).toString("latin1"));
    },
    cancel() {
      child?.kill();
    },
  };
}
