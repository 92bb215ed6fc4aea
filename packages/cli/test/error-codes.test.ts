// Every error code in the source belongs to its package's exported union, and every code a
// union lists is used: read from the source text, not from molt's own answers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { MOLT_ERROR_CODES } from "../src/index.js";
import { PACKAGES, root, sources } from "./package-sources.js";

/** `MOLT_…` strings that are environment variables, not error codes. */
const ENV_NAMES = new Set(["MOLT_MOUNT_NAMESPACE_HELD_BY"]);

/** Code text without comments (TSDoc mentions codes it does not throw). */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\/\/.*$/, "").replace(/\s\/\/ .*$/, ""))
    .join("\n");
}

interface Use {
  code: string;
  file: string;
  /** Compared against (`e.code === "…"`) rather than given to an error. */
  comparison: boolean;
}

function uses(pkg: string): Use[] {
  const out: Use[] = [];
  for (const file of sources(join(root, pkg, "src"), ["error-codes.ts"])) {
    const text = code(readFileSync(file, "utf8"));
    for (const m of text.matchAll(/["'`](MOLT_[A-Z0-9_]+)["'`]/g)) {
      const before = text.slice(Math.max(0, m.index - 8), m.index);
      out.push({ code: m[1]!, file: file.slice(root.length + 1), comparison: /[!=]==\s*$/.test(before) });
    }
  }
  return out;
}

test.each(Object.entries(PACKAGES))(
  "every code %s's source gives an error is in its union, and each is used",
  (pkg, union) => {
    const found = uses(pkg).filter((u) => !ENV_NAMES.has(u.code));
    expect(found.length).toBeGreaterThan(0);
    const stray = found.filter((u) =>
      u.comparison ? !MOLT_ERROR_CODES.includes(u.code as never) : !union.includes(u.code),
    );
    expect(stray.map((u) => `${u.file}: ${u.code}`)).toEqual([]);
    const given = new Set(found.filter((u) => !u.comparison).map((u) => u.code));
    expect(union.filter((c) => !given.has(c))).toEqual([]);
  },
);

test("no error is made as a bare MoltError: each condition has its class", () => {
  const bare = Object.keys(PACKAGES).flatMap((pkg) =>
    sources(join(root, pkg, "src"), ["error-codes.ts"])
      .filter((f) => /new MoltError\s*\(/.test(code(readFileSync(f, "utf8"))))
      .map((f) => f.slice(root.length + 1)),
  );
  expect(bare).toEqual([]);
});

test("codes are MOLT_ names, unique within each union", () => {
  for (const union of Object.values(PACKAGES)) {
    expect(new Set(union).size).toBe(union.length);
    for (const c of union) expect(c).toMatch(/^MOLT_[A-Z0-9_]+$/);
  }
});
