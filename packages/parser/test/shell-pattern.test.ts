// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile/shell text, not templates
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expandWord } from "../src/index.js";

// Shell patterns in ${V#p}, ${V%p}, ${V/p/r}: written from POSIX 2.13 "Pattern Matching
// Notation" / 2.6.2 "Parameter Expansion" and checked against real shells (dash for the POSIX
// forms, bash for ${V/p/r}, which dash lacks).

const expand = (word: string, vars: Record<string, string>): string => expandWord(word, (n) => vars[n]);

describe("patterns with characters that are special in regular expressions (issue 14, bug 2)", () => {
  const cases: [string, Record<string, string>, string][] = [
    ["${VERSION%%-*}", { VERSION: "1.2.3-alpine-r1" }, "1.2.3"],
    ["${VERSION%-*}", { VERSION: "1.2.3-alpine-r1" }, "1.2.3-alpine"],
    ["${V#*-}", { V: "1.2.3-alpine-r1" }, "alpine-r1"],
    ["${V##*-}", { V: "1.2.3-alpine-r1" }, "r1"],
    ["${V/-/_}", { V: "a-b-c" }, "a_b-c"],
    ["${V//-/_}", { V: "a-b-c" }, "a_b_c"],
    ["${V//(/<}", { V: "f(x)" }, "f<x)"],
    ["${V%)}", { V: "f(x)" }, "f(x"],
    ["${V#{}", { V: "{a}" }, "a}"],
    ["${V//|/,}", { V: "a|b|c" }, "a,b,c"],
    ["${V//+/ }", { V: "a+b" }, "a b"],
    ["${V%.}", { V: "a." }, "a"],
    ["${V%.}", { V: "ab" }, "ab"],
    ["${V#^}", { V: "^x" }, "x"],
    ["${V#$}", { V: "$x" }, "x"], // `$}` is a lone dollar then the closing brace: the pattern is "$"
    ["${V#=}", { V: "=x" }, "x"],
    ["${V#,}", { V: ",x" }, "x"],
    ["${V#:}", { V: ":x" }, "x"],
    ["${V#\\-}", { V: "-x" }, "x"], // an escaped ordinary character is that character
    ["${V#[c-a]}", { V: "abc" }, "abc"], // a reversed range matches nothing (dash, bash)
    ["${V#[a-]}", { V: "-bc" }, "bc"], // a trailing - is a member
    ["${V#[-a]}", { V: "-bc" }, "bc"],
    ["${V#[]a]}", { V: "]bc" }, "bc"], // ] first is a member
    ["${V#[!a]}", { V: "abc" }, "abc"],
    ["${V#[!a]}", { V: "xbc" }, "bc"],
    ["${V#[[:digit:]]}", { V: "1a" }, "a"],
    ["${V#[}", { V: "[a" }, "a"], // an unclosed [ is an ordinary character
    ["${V%[0-9]*}", { V: "v12" }, "v1"],
    ["${V%%[0-9]*}", { V: "v12" }, "v"],
    ["${V#é}", { V: "éa" }, "a"],
    ["${V#?}", { V: "😀a" }, "a"], // ? is one character, not one UTF-16 unit
  ];
  it.each(cases)("%s of %j is %s", (word, vars, want) => {
    expect(expand(word, vars)).toBe(want);
  });
});

// ---- differential: random patterns against real shells ----

const VALUE_CHARS = ["a", "b", "c", "-", ".", "_", "+", "(", ")", "|", "*", "?", "[", "]", "!", "x"];
const PATTERN_TOKENS = [
  "a",
  "b",
  "c",
  "-",
  ".",
  "_",
  "+",
  "(",
  ")",
  "|",
  "*",
  "*",
  "?",
  "\\*",
  "\\?",
  "\\-",
  "\\[",
  "[ab]",
  "[!a]",
  "[a-c]",
  "[c-a]",
  "[-a]",
  "[a-]",
  "[]a]",
  "[*]",
  "[[:alpha:]]",
  "[",
  "]",
  "!",
];

const valueArb = fc.array(fc.constantFrom(...VALUE_CHARS), { maxLength: 10 }).map((a) => a.join(""));
const patternArb = fc.array(fc.constantFrom(...PATTERN_TOKENS), { maxLength: 6 }).map((a) => a.join(""));
const OPS = ["#", "##", "%", "%%", "/", "//"] as const;
type Op = (typeof OPS)[number];
interface Case {
  value: string;
  op: Op;
  pattern: string;
  replacement: string;
}
const caseArb: fc.Arbitrary<Case> = fc
  .record({
    value: valueArb,
    op: fc.constantFrom(...OPS),
    pattern: patternArb,
    replacement: fc.constantFrom("", "R", "_-"),
  })
  // `${v//r}` would read as `//` with no pattern end: an empty pattern is only tested for trims
  .filter((c) => c.pattern !== "" || (c.op !== "/" && c.op !== "//"));

function shellHas(name: string): boolean {
  return spawnSync(name, ["-c", "true"]).status === 0;
}

/** Runs every case in one shell process; returns one output line per case. */
function runShell(shell: string, cases: Case[]): string[] {
  const lines = cases.map((c) => {
    const expansion =
      c.op === "/" || c.op === "//"
        ? `\${v${c.op}${c.pattern}/${c.replacement}}`
        : `\${v${c.op}${c.pattern}}`;
    // assignment: no field splitting or pathname expansion of the result
    return `v='${c.value}'; r=${expansion}; printf '%s\\n' "<$r>"`;
  });
  const res = spawnSync(shell, ["-c", lines.join("\n")], { encoding: "utf8" });
  expect(res.status, res.stderr).toBe(0);
  return res.stdout.split("\n").slice(0, cases.length);
}

function molt(c: Case): string {
  const word =
    c.op === "/" || c.op === "//" ? `\${v${c.op}${c.pattern}/${c.replacement}}` : `\${v${c.op}${c.pattern}}`;
  return `<${expand(word, { v: c.value })}>`;
}

describe("random patterns give what a POSIX shell gives", () => {
  it.skipIf(!shellHas("dash"))("${v#p} ${v##p} ${v%p} ${v%%p} as dash", () => {
    const cases = fc
      .sample(caseArb, { numRuns: 1500, seed: 14 })
      .filter((c) => c.op !== "/" && c.op !== "//");
    const want = runShell("dash", cases);
    const got = cases.map(molt);
    const diffs = cases.flatMap((c, i) => (got[i] === want[i] ? [] : [{ ...c, got: got[i], dash: want[i] }]));
    expect(diffs).toEqual([]);
    expect(cases.length).toBeGreaterThan(500);
  });

  it.skipIf(!shellHas("bash"))("${v/p/r} ${v//p/r} (and the trims) as bash", () => {
    const cases = fc.sample(caseArb, { numRuns: 1500, seed: 41 });
    const want = runShell("bash", cases);
    const got = cases.map(molt);
    const diffs = cases.flatMap((c, i) => (got[i] === want[i] ? [] : [{ ...c, got: got[i], bash: want[i] }]));
    expect(diffs).toEqual([]);
  });

  it("never throws on any pattern text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (value, pattern) => {
        const p = pattern.replace(/[}/$'"\\]/g, "");
        for (const op of ["#", "##", "%", "%%"]) expand(`\${v${op}${p}}`, { v: value });
        if (p !== "") {
          expand(`\${v/${p}/x}`, { v: value });
          expand(`\${v//${p}/x}`, { v: value });
        }
      }),
      { numRuns: 500 },
    );
  });
});
