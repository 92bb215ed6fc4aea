// One error class per condition: every error class molt can make carries exactly one `code`,
// typed as that one literal, and the family classes (which take a code) are abstract. Read from
// the source text of every package, as error-codes.test.ts reads the codes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import {
  BuildStepError,
  DockerfileError,
  DockerfileFlagError,
  MoltError,
  MountError,
  MountLockError,
  PathEscapeError,
  PathResolveError,
  RegistryError,
  RegistryTooManyRequestsError,
  ShellExpansionError,
  ShellUnterminatedError,
} from "../src/index.js";
import { PACKAGES, root, sources } from "./package-sources.js";

/** One `class … extends …` of the source. */
interface ClassDecl {
  name: string;
  file: string;
  pkg: string;
  abstract: boolean;
  base: string;
  /** The base's type argument as written (`"MOLT_X"`, `CoreErrorCode`, `C`), or "" for none. */
  typeArg: string;
  /** The first argument of the constructor's `super(…)` call, as written; undefined without a constructor. */
  superArg: string | undefined;
}

/** Code text without comments. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\/\/.*$/, ""))
    .join("\n");
}

/** The text from `open` (an index of `<` or `(`) to its matching closer, exclusive. */
function balanced(text: string, open: number): string {
  const pair: Record<string, string> = { "<": ">", "(": ")" };
  const o = text[open]!;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === o) depth++;
    else if (text[i] === pair[o] && text[i - 1] !== "=") {
      depth--;
      if (depth === 0) return text.slice(open + 1, i);
    }
  }
  throw new Error(`unbalanced ${o} at ${open}`);
}

/** Every class declaration with an `extends` in `text`. */
function classes(text: string, file: string, pkg: string): ClassDecl[] {
  const out: ClassDecl[] = [];
  const t = code(text);
  for (const m of t.matchAll(/(abstract\s+)?class\s+(\w+)\s*/g)) {
    let at = m.index + m[0].length;
    if (t[at] === "<") at += balanced(t, at).length + 2;
    const ext = /^\s*extends\s+(\w+)\s*/.exec(t.slice(at));
    if (!ext) continue;
    at += ext[0].length;
    let typeArg = "";
    if (t[at] === "<") {
      typeArg = balanced(t, at).trim();
      at += typeArg.length + 2;
    }
    const bodyStart = t.indexOf("{", at);
    // The class body ends at the next top-level `class` (a good enough bound for the constructor).
    const next = t.slice(bodyStart).search(/\n(export\s+)?(abstract\s+)?class\s/);
    const body = next < 0 ? t.slice(bodyStart) : t.slice(bodyStart, bodyStart + next);
    const ctor = body.indexOf("constructor(");
    let superArg: string | undefined;
    if (ctor >= 0) {
      const s = body.indexOf("super(", ctor);
      if (s >= 0)
        superArg = balanced(body, s + 5)
          .split(/,(?![^(]*\))/)[0]!
          .trim();
    }
    out.push({ name: m[2]!, file, pkg, abstract: Boolean(m[1]), base: ext[1]!, typeArg, superArg });
  }
  return out;
}

/** The classes of `all` that descend from MoltError. */
function errorClasses(all: ClassDecl[]): ClassDecl[] {
  const byName = new Map(all.map((c) => [c.name, c]));
  const isError = (c: ClassDecl | undefined): boolean =>
    c !== undefined && (c.base === "MoltError" || isError(byName.get(c.base)));
  return all.filter((c) => isError(c));
}

/** The problems of one set of classes: each non-abstract error class must carry exactly one code. */
function problems(all: ClassDecl[], unions: Record<string, readonly string[]>): string[] {
  const byName = new Map(all.map((c) => [c.name, c]));
  const out: string[] = [];
  for (const c of errorClasses(all)) {
    const where = `${c.file}: ${c.name}`;
    const base = byName.get(c.base);
    /** The base takes the code as its first argument (MoltError, or an abstract family). */
    const familyBase = c.base === "MoltError" || base?.abstract === true;
    if (c.abstract) {
      if (c.typeArg && /^"/.test(c.typeArg)) out.push(`${where}: an abstract family fixes its code`);
      continue;
    }
    if (!familyBase) {
      // Extends a concrete class: it carries that class's one code and may not take another.
      if (c.typeArg) out.push(`${where}: extends concrete ${c.base} with a type argument`);
      continue;
    }
    const literal = /^"(MOLT_[A-Z0-9_]+)"$/.exec(c.superArg ?? "")?.[1];
    if (!literal) {
      out.push(`${where}: can carry more than one code (super(${c.superArg ?? "…inherited"}, …))`);
      continue;
    }
    if (c.typeArg !== `"${literal}"`)
      out.push(`${where}: code typed as ${c.typeArg || "its base's"}, not "${literal}"`);
    if (!unions[c.pkg]?.includes(literal)) out.push(`${where}: ${literal} is not in its package's union`);
  }
  return out;
}

function allClasses(): ClassDecl[] {
  return Object.keys(PACKAGES).flatMap((pkg) =>
    sources(join(root, pkg, "src")).flatMap((f) =>
      classes(readFileSync(f, "utf8"), f.slice(root.length + 1), pkg),
    ),
  );
}

test("every error class of every package carries exactly one code, typed as that literal", () => {
  const all = allClasses();
  const errors = errorClasses(all);
  // The scan sees the classes: the six families and well over a hundred conditions.
  const families = errors.filter((c) => c.abstract).map((c) => c.name);
  expect(families.sort()).toEqual(
    [
      "BuildStepError",
      "DockerfileError",
      "MountError",
      "PathResolveError",
      "RegistryError",
      "ShellExpansionError",
    ].sort(),
  );
  expect(errors.length).toBeGreaterThan(100);
  expect(problems(all, PACKAGES)).toEqual([]);
});

test("the scan fails on a class that can carry two codes", () => {
  const text = `
export abstract class Family<C extends string> extends MoltError<C> { constructor(code: C) { super(code, "m"); } }
export class Two extends MoltError<XCode> {
  constructor(code: XCode, message: string) { super(code, message); }
}
export class Ternary extends MoltError<"MOLT_A" | "MOLT_B"> {
  constructor(b: boolean) { super(b ? "MOLT_A" : "MOLT_B", "m"); }
}
export class Wide extends MoltError<XCode> { constructor() { super("MOLT_A", "m"); } }
export class Inherits extends Family<"MOLT_A"> {}
export class One extends Family<"MOLT_A"> { constructor() { super("MOLT_A"); } }
export class Concrete extends One {}
`;
  const found = problems(classes(text, "x.ts", "x"), { x: ["MOLT_A", "MOLT_B"] });
  expect(found).toEqual([
    "x.ts: Two: can carry more than one code (super(code, …))",
    'x.ts: Ternary: can carry more than one code (super(b ? "MOLT_A" : "MOLT_B", …))',
    'x.ts: Wide: code typed as XCode, not "MOLT_A"',
    "x.ts: Inherits: can carry more than one code (super(…inherited, …))",
  ]);
});

test("the families stay exported and catch their conditions; codes and messages are the condition's", () => {
  const loc = { file: "Dockerfile", line: 3, column: 1, endLine: 3, endColumn: 9 };
  const flag = new DockerfileFlagError("COPY: unknown flag: --bogus", loc);
  expect(flag).toBeInstanceOf(DockerfileError);
  expect(flag).toBeInstanceOf(MoltError);
  expect(flag.code).toBe("MOLT_DOCKERFILE_FLAG");
  expect(flag.message).toBe("Dockerfile:3:1: COPY: unknown flag: --bogus");
  const lock = new MountLockError("cannot lock /x: busy", { file: "Dockerfile", line: 2, column: 1 });
  expect(lock).toBeInstanceOf(MountError);
  expect(lock).toBeInstanceOf(BuildStepError);
  expect(lock.code).toBe("MOLT_MOUNT_LOCK");
  expect(lock.message).toBe("Dockerfile:2:1: cannot lock /x: busy");
  expect(new ShellUnterminatedError("syntax error: missing '}'", 4)).toBeInstanceOf(ShellExpansionError);
  const esc = new PathEscapeError("../x", "'..' climbs above the root");
  expect(esc).toBeInstanceOf(PathResolveError);
  expect(esc.code).toBe("MOLT_PATH_ESCAPE");
  const many = new RegistryTooManyRequestsError("slow down", { registry: "r", retryable: true });
  expect(many).toBeInstanceOf(RegistryError);
  expect([many.code, many.retryable]).toEqual(["MOLT_REGISTRY_TOO_MANY_REQUESTS", true]);
});
