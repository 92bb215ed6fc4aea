import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSymbolicMode } from "../src/instructions/chmod-symbolic.js";

// Symbolic --chmod: chmod(1) semantics (POSIX "chmod — symbolic mode"), written by hand, then
// compared with GNU chmod on real files for random clauses that name their classes (GNU applies
// the umask when no class is named; a build has no umask).
describe("symbolic --chmod", () => {
  const cases: [string, number, boolean, number][] = [
    ["u=rwx,g=rx,o=", 0o644, false, 0o750],
    ["u=rwx,g=rx,o=", 0o777, true, 0o750],
    ["go-w", 0o666, false, 0o644],
    ["a+X", 0o644, false, 0o644], // a file without x stays without
    ["a+X", 0o744, false, 0o755], // a file with some x gets all
    ["a+X", 0o644, true, 0o755], // a directory always
    ["+x", 0o600, false, 0o711], // no class: all
    ["u+s,g+s", 0o755, false, 0o6755],
    ["o+t", 0o777, true, 0o1777],
    ["g=u", 0o740, false, 0o770],
    ["o=g", 0o751, false, 0o755],
    ["u-w+x", 0o644, false, 0o544],
    ["=r", 0o777, false, 0o444],
  ];
  it.each(cases)("%s on %o (dir %s) is %o", (spec, mode, dir, want) => {
    expect(compileSymbolicMode(spec)!(mode, dir)).toBe(want);
  });

  it("rejects what is not a symbolic mode", () => {
    for (const bad of ["", "755", "u=rwz", "q+x", "u+,", "u=rwx,"])
      expect(compileSymbolicMode(bad), bad).toBeUndefined();
  });

  it("agrees with GNU chmod on random clauses that name their classes", () => {
    const dir = mkdtempSync(join(tmpdir(), "molt-chmod-"));
    try {
      const file = join(dir, "f");
      const sub = join(dir, "d");
      writeFileSync(file, "");
      mkdirSync(sub);
      const clause = fc
        .tuple(
          fc.constantFrom("u", "g", "o", "a", "ug", "go", "uo", "ugo"),
          fc.array(
            fc.tuple(
              fc.constantFrom("+", "-", "="),
              fc.constantFrom("", "r", "w", "x", "X", "rw", "rx", "wx", "rwx", "u", "g", "o"),
            ),
            { minLength: 1, maxLength: 2 },
          ),
        )
        .map(([who, acts]) => who + acts.map(([op, p]) => op + p).join(""));
      const spec = fc.array(clause, { minLength: 1, maxLength: 3 }).map((c) => c.join(","));
      fc.assert(
        fc.property(spec, fc.integer({ min: 0, max: 0o777 }), fc.boolean(), (s, mode, isDir) => {
          const p = isDir ? sub : file;
          chmodSync(p, mode);
          const r = spawnSync("chmod", [s, p]);
          expect(r.status, r.stderr.toString()).toBe(0);
          const want = statSync(p).mode & 0o7777;
          chmodSync(sub, 0o755);
          expect(compileSymbolicMode(s)!(mode, isDir), `${s} on ${mode.toString(8)}`).toBe(want);
        }),
        { numRuns: 300 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
