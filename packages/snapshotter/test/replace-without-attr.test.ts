import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { replaceSuite } from "./replace-cases.js";

/*
 * The same replace cases on a host without the optional `attr` programs (getfattr, setfattr):
 * PATH is a directory holding every system program but those two, set before the snapshotter
 * is loaded (it looks them up once). What a layer contains must not depend on them.
 */
const shim = mkdtempSync(join(tmpdir(), "molt-no-attr-path-"));
for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    continue;
  }
  for (const name of names) {
    if (name === "getfattr" || name === "setfattr") continue;
    try {
      symlinkSync(join(dir, name), join(shim, name));
    } catch {
      // already linked from an earlier directory
    }
  }
}
process.env.PATH = shim;
afterAll(() => rmSync(shim, { recursive: true, force: true }));
replaceSuite("without getfattr/setfattr", await import("../src/index.js"));
