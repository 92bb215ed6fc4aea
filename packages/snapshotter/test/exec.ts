import { spawn } from "node:child_process";

/** Runs a program without a shell or stdin and returns its stdout; throws on a non-zero exit unless `allowFail`. */
export function exec(
  cmd: string,
  args: string[],
  opts: { allowFail?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      const r = {
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (r.code !== 0 && !opts.allowFail)
        reject(new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n${r.stderr}`));
      else resolve(r);
    });
  });
}

/** Runs a POSIX shell script with `-eu`. */
export const sh = (script: string) => exec("sh", ["-euc", script]);
