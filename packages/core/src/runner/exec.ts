import { spawn } from "node:child_process";

/** Runs a host helper (no shell) and collects its output; never throws on a non-zero exit. */
export function run(
  file: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: options.env ?? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
      stdio: [options.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (d: Buffer) => out.push(d));
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => resolve({ code: -1, stdout: "", stderr: e.message }));
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}
