import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { EVENT_TYPES } from "./event-types.js";

describe("the event union is documented in one module", () => {
  test("the table in events.ts spells every member of the union, and nothing else", async () => {
    const text = await readFile(join(import.meta.dirname, "..", "src", "events.ts"), "utf8");
    // The TSDoc table of BuildProgressEvent: its rows start with ` * | \`molt:`.
    const rows = text.split("\n").filter((l) => /^ \* \| `molt:/.test(l));
    const documented = rows.map((r) => /^ \* \| `(molt:[a-z]+:[a-z-]+)` \|/.exec(r)?.[1]);
    expect(documented.filter((d) => d === undefined)).toEqual([]);
    expect([...new Set(documented)].sort()).toEqual(Object.keys(EVENT_TYPES).sort());
    expect(documented).toHaveLength(new Set(documented).size);
  });

  test("every member is named molt:<part>:<what>, and a step's events say so in the table", async () => {
    const text = await readFile(join(import.meta.dirname, "..", "src", "events.ts"), "utf8");
    for (const [type, scope] of Object.entries(EVENT_TYPES)) {
      expect(type).toMatch(/^molt:[a-z]+:[a-z]+(-[a-z]+)*$/);
      const row = text.split("\n").find((l) => l.startsWith(` * | \`${type}\` |`))!;
      // Events about a step carry its id: the table lists `step` among their fields.
      expect(row.split("|")[3]!.includes("`step`"), `${type}: ${row}`).toBe(scope === "step");
    }
  });
});
