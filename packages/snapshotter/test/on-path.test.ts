import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { onPath } from "../src/xattrs.js";

// The lookup that replaced running `getfattr --version` (xattrToolsAvailable): an executable
// regular file of that name in a PATH directory, as execvp would find it.
describe("onPath", () => {
  const dir = mkdtempSync(join(tmpdir(), "molt-on-path-"));
  const bin = join(dir, "bin");
  const other = join(dir, "other");
  mkdirSync(bin);
  mkdirSync(other);
  writeFileSync(join(bin, "tool"), "#!/bin/sh\n");
  chmodSync(join(bin, "tool"), 0o755);
  writeFileSync(join(other, "plain"), "not executable\n");
  chmodSync(join(other, "plain"), 0o644);
  mkdirSync(join(other, "adir"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds an executable file in any PATH directory", () => {
    expect(onPath("tool", `${other}:${bin}`)).toBe(true);
    expect(onPath("tool", bin)).toBe(true);
  });

  it("does not take a missing name, a file without the execute bit or a directory", () => {
    expect(onPath("missing", `${bin}:${other}`)).toBe(false);
    expect(onPath("adir", other)).toBe(false);
    // root may access(X_OK) a 0644 file only if some execute bit is set: none is
    expect(onPath("plain", other)).toBe(false);
    expect(onPath("tool", "")).toBe(false);
  });

  it("finds getfattr on this machine's PATH, not without it", () => {
    expect(onPath("getfattr")).toBe(true);
    expect(onPath("getfattr", other)).toBe(false);
  });
});
