import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirectoryContext, IgnoreMatcher } from "../src/index.js";
import { makeTree } from "./helpers.js";

// Property: whatever the patterns, walk() yields exactly the paths isIgnored() lets through, plus
// the ignored directories that lead to them (docker transfers those parents), in walk order —
// i.e. docker's directory pruning never loses a path that its own matcher keeps.

let root: string;
let all: string[];
const NAMES = ["a", "b", "a.md", "x.log", "keep"];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "molt-ctx-prop-"));
  const spec: Record<string, string> = {};
  for (const d1 of ["a", "b", "keep"]) {
    for (const d2 of ["a", "keep", "sub"]) for (const f of NAMES) spec[`${d1}/${d2}/${f}`] = f;
    for (const f of NAMES) spec[`${d1}/${f}.txt`] = f;
  }
  for (const f of NAMES) spec[`${f}.top`] = f;
  await makeTree(root, spec);
  const ctx = new DirectoryContext(root);
  all = [];
  for await (const e of ctx.walk()) all.push(e.path);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const segment = fc.constantFrom(
  "a",
  "b",
  "keep",
  "sub",
  "*",
  "?",
  "**",
  "*.md",
  "x.*",
  "[ab]",
  "a*",
  "*.txt",
);
const pattern = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 3 }))
  .map(([neg, parts]) => `${neg ? "!" : ""}${parts.join("/")}`);

describe("walk agrees with isIgnored", () => {
  it("for random .dockerignore files", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pattern, { minLength: 1, maxLength: 5 }), async (patterns) => {
        const ctx = new DirectoryContext(root, { ignore: new IgnoreMatcher(patterns) });
        const kept = new Set(all.filter((p) => !ctx.isIgnored(p)));
        for (const p of [...kept]) {
          const parts = p.split("/");
          for (let i = 1; i < parts.length; i++) kept.add(parts.slice(0, i).join("/"));
        }
        const expected = all.filter((p) => kept.has(p));
        const got: string[] = [];
        for await (const e of ctx.walk()) got.push(e.path);
        expect(got).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
