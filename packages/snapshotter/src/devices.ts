import { spawn } from "node:child_process";
import { lstatSync } from "node:fs";

/** One device node or FIFO for {@link makeDeviceNodes}. */
export interface DeviceNode {
  /** Absolute path; its parent exists and nothing is at the path itself. */
  path: string;
  type: "char" | "block" | "fifo";
  /** Permission bits (`mknod -m`). */
  mode: number;
  /** Device numbers (ignored for a FIFO). */
  major: number;
  minor: number;
}

/** What {@link makeDeviceNodes} made: per node, whether it is on disk now; the shell's stderr. */
export interface DeviceNodesMade {
  made: boolean[];
  stderr: string;
}

/** The `sh` script that makes `nodes`, each path passed as a positional argument (never parsed). */
export function mknodScript(nodes: readonly DeviceNode[]): string {
  return nodes
    .map((n, i) => {
      const kind =
        n.type === "fifo" ? "p" : `${n.type === "char" ? "c" : "b"} ${n.major >>> 0} ${n.minor >>> 0}`;
      return `mknod -m ${(n.mode & 0o7777).toString(8)} "\${${i + 1}}" ${kind} || :`;
    })
    .join("\n");
}

/**
 * Makes device nodes and FIFOs (Node has no `mknod`) with one `sh` running `mknod` for each,
 * instead of one spawn of `mknod` per node from this (large) process (issue 16: the 8 nodes of
 * Debian's /dev cost 60–180 ms that way on a loaded machine). A node that cannot be made (no
 * permission, no `mknod`) is reported as not made; nothing throws for it.
 *
 * @example
 * ```ts
 * const { made } = await makeDeviceNodes([{ path: "/tmp/r/dev/null", type: "char", mode: 0o666, major: 1, minor: 3 }]);
 * ```
 */
export async function makeDeviceNodes(nodes: readonly DeviceNode[]): Promise<DeviceNodesMade> {
  if (nodes.length === 0) return { made: [], stderr: "" };
  const stderr = await new Promise<string>((resolve) => {
    const child = spawn("sh", ["-c", mknodScript(nodes), "sh", ...nodes.map((n) => n.path)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      err += d;
    });
    child.once("error", (e) => resolve(`${err}${e.message}`));
    child.once("close", () => resolve(err));
  });
  const made = nodes.map((n) => {
    try {
      const st = lstatSync(n.path);
      return n.type === "fifo"
        ? st.isFIFO()
        : n.type === "char"
          ? st.isCharacterDevice()
          : st.isBlockDevice();
    } catch {
      return false;
    }
  });
  return { made, stderr };
}
