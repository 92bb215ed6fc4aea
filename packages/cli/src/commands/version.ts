import { readFileSync } from "node:fs";
import type { CommandIO } from "../io.js";

/** The CLI's version, from its package.json. */
export function moltVersion(): string {
  // dist/commands/version.js in the package; dist/bin.js's chunk in the executor's bundle.
  for (const rel of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version: string;
      };
      if (pkg.name === "molt") return pkg.version;
    } catch {
      // next
    }
  }
  return "unknown";
}

/** `molt version` / `molt --version`: `molt VERSION (node vX, linux/amd64)` on stdout. */
export function versionCommand(io: CommandIO): number {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
  io.stdout.write(
    `molt ${moltVersion()} (node ${process.version}, ${process.platform}/${arch[process.arch] ?? process.arch})\n`,
  );
  return 0;
}
