import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isValidGoPattern } from "../src/go-match.js";
import { GlobAutomaton, tokenizeGlob } from "../src/ignore-nfa.js";
import { IgnoreMatcher } from "../src/index.js";

// Issue 15 item 2: .dockerignore patterns are untrusted input and must match in time linear in
// the path (times the pattern's length), never exponential.

/**
 * The reference model: moby/patternmatcher's translation of a pattern into a regular
 * expression (`*` → `[^/]*`, `?` → `[^/]`, `**` → `(.*\/)?` or a trailing `.*`, `.+()|{}$`
 * escaped, `\x` → x), run by V8's backtracking engine. Written from patternmatcher's documented
 * rules; fine on short inputs, exponential on adversarial ones.
 */
function referenceRegExp(text: string): RegExp {
  const chars = Array.from(text);
  let re = "^";
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i++] as string;
    if (ch === "*") {
      if (chars[i] === "*") {
        i++;
        if (chars[i] === "/") i++;
        re += i >= chars.length ? ".*" : "(.*/)?";
      } else re += "[^/]*";
    } else if (ch === "?") re += "[^/]";
    else if (".+()|{}$".includes(ch)) re += `\\${ch}`;
    else if (ch === "\\") {
      const next = chars[i++] ?? "\\";
      re += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
    } else re += ch;
  }
  return new RegExp(`${re}$`, "u");
}

function linear(text: string): GlobAutomaton {
  return new GlobAutomaton(tokenizeGlob(text));
}

/** Milliseconds `fn` takes. */
function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

describe("adversarial patterns finish in bounded time", () => {
  const deepPath = `${Array.from({ length: 40 }, () => "a").join("/")}/c`;
  const cases: [string, string, string][] = [
    ["** repeated over 12 segments", `${Array.from({ length: 12 }, () => "**").join("/")}/b`, deepPath],
    ["** repeated over 30 segments", `${Array.from({ length: 30 }, () => "**").join("/")}/b`, deepPath],
    ["*a repeated 25 times", `${"*a".repeat(25)}b`, "a".repeat(200)],
    ["a*a*… in one segment, 60 stars", `${"a*".repeat(60)}b`, "a".repeat(500)],
    ["*/ repeated 12 times then b", `${"*/".repeat(12)}b`, deepPath],
    ["?* mixtures", `${"?*".repeat(30)}x`, "y".repeat(300)],
    ["** inside segments", `${"a**".repeat(20)}z`, `${"a/".repeat(100)}y`],
  ];
  for (const [name, pattern, path] of cases) {
    it(`${name}: matcher answers in well under a second`, () => {
      expect(isValidGoPattern(pattern)).toBe(true);
      const m = new IgnoreMatcher([pattern]);
      let answer: boolean | undefined;
      // matches() also tries every parent directory of the path: the walk's real work.
      const ms = timed(() => {
        answer = m.matches(path);
      });
      expect(answer).toBe(false);
      expect(ms).toBeLessThan(500);
    });
  }

  it("random adversarial patterns of 12 to 40 wildcard segments stay within the bound", () => {
    const wild = fc.constantFrom("**", "*", "*a*", "a*", "?*", "*?*", "**a", "[a]*");
    fc.assert(
      fc.property(
        fc.array(wild, { minLength: 12, maxLength: 40 }),
        fc.integer({ min: 20, max: 60 }),
        (segments, depth) => {
          const pattern = `${segments.join("/")}/b`;
          const path = `${Array.from({ length: depth }, () => "aaaa").join("/")}/c`;
          const a = linear(pattern);
          const ms = timed(() => {
            a.test(path);
          });
          expect(ms).toBeLessThan(200);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("the automaton agrees with the reference regular expression", () => {
  // Small alphabet so that random paths hit the patterns often. Classes hold no wildcard
  // characters: patternmatcher passes a class's inside through its translator, so `[*]` becomes
  // a broken expression there, while here it is Go's class holding `*`.
  const patternPart = fc.constantFrom(
    "a",
    "b",
    "/",
    "*",
    "**",
    "**/",
    "?",
    "[ab]",
    "[^a]",
    "[a-c]",
    ".",
    "\\*",
    "\\a",
    "(",
    "é",
  );
  const pathPart = fc.constantFrom("a", "b", "c", "/", ".", "*", "(", "é", "ab", "a/b");
  const pattern = fc.array(patternPart, { minLength: 1, maxLength: 7 }).map((p) => p.join(""));
  const path = fc.array(pathPart, { minLength: 0, maxLength: 8 }).map((p) => p.join(""));

  it("on random patterns and paths", () => {
    fc.assert(
      fc.property(pattern, fc.array(path, { minLength: 1, maxLength: 8 }), (p, paths) => {
        fc.pre(isValidGoPattern(p));
        const ref = referenceRegExp(p);
        const a = linear(p);
        for (const x of paths) expect([p, x, a.test(x)]).toEqual([p, x, ref.test(x)]);
      }),
      { numRuns: 3000 },
    );
  });

  it("through IgnoreMatcher (fast paths included), pattern by pattern", () => {
    fc.assert(
      fc.property(pattern, path, (p, x) => {
        fc.pre(isValidGoPattern(p) && x !== "");
        const m = new IgnoreMatcher([p]);
        // The matcher cleans the pattern first (`a/` → `a`), as docker does.
        const pat = m.patterns[0];
        if (!pat) return;
        const ref = referenceRegExp(pat.text);
        // Docker's exact/prefix/suffix fast paths differ from the expression on purpose only
        // for suffix patterns (`**x` is a plain endsWith); compare where the expression rules.
        if (pat.text.startsWith("**") && !/[*?[\\]/.test(pat.text.slice(2))) return;
        expect([pat.text, x, pat.matches(x)]).toEqual([pat.text, x, ref.test(x)]);
      }),
      { numRuns: 3000 },
    );
  });

  it("examples written from the rules", () => {
    const rows: [string, string, boolean][] = [
      ["a/**/b", "a/b", true],
      ["a/**/b", "a/x/y/b", true],
      ["a/**/b", "a/xb", false],
      ["a**b", "ab", true],
      ["a**b", "a/x/b", true],
      ["a**b", "axb", false],
      ["*.go", "x/y.go", false],
      ["x/**", "x/\n", false],
      ["[^a]", "/", true],
      ["[*]", "*", true],
      ["[*]", "x", false],
      ["\\[", "[", true],
      ["?", "é", true],
      ["?", "😀", true],
      ["??", "😀", false],
    ];
    for (const [p, x, want] of rows) expect([p, x, linear(p).test(x)]).toEqual([p, x, want]);
  });
});
