import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { BUILD_FLAG_ROWS } from "../src/commands/build-flags.js";

test("the README's flag table has a row for every flag molt build takes", () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "..", "..", "README.md"), "utf8");
  const rows = readme.split("\n").filter((l) => l.startsWith("| `"));
  const missing = BUILD_FLAG_ROWS.filter((r) => !rows.some((l) => l.includes(`\`--${r.name}\``))).map(
    (r) => r.name,
  );
  expect(missing).toEqual([]);
});
