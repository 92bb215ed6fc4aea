// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile/shell text, not templates
import { describe, expect, it } from "vitest";
import { expandWord, expandWordDetailed, expandWords, ShellExpansionError } from "../src/index.js";

const env: Record<string, string> = {
  HOME: "/root",
  EMPTY: "",
  PATHV: "/usr/local/bin/app.tar.gz",
  SPACED: "a b  c",
  REPEAT: "aXbXc",
  STAR: "a*b",
};
const lookup = (n: string): string | undefined => env[n];

// [input, expected] — expected values written from the Dockerfile reference / POSIX shell rules.
const cases: [string, string][] = [
  ["plain", "plain"],
  ["$HOME", "/root"],
  ["${HOME}", "/root"],
  ["${HOME}/bin", "/root/bin"],
  ["$HOME/bin", "/root/bin"],
  ["pre$HOME", "pre/root"],
  ["$UNSET", ""],
  ["${UNSET}", ""],
  ["a$", "a$"],
  ["$ alone", "$ alone"],
  ["$-x", "x"], // special parameter $- expands to empty
  ["$1x", "x"], // positional parameter
  ["${10}", ""],
  ["$@", ""],
  ["$$", ""],
  // defaults
  ["${UNSET:-def}", "def"],
  ["${EMPTY:-def}", "def"],
  ["${HOME:-def}", "/root"],
  ["${UNSET-def}", "def"],
  ["${EMPTY-def}", ""],
  ["${UNSET:-$HOME}", "/root"],
  ["${UNSET:-${ALSO:-nested}}", "nested"],
  ["${UNSET:-a b}", "a b"],
  // alternatives
  ["${HOME:+alt}", "alt"],
  ["${EMPTY:+alt}", ""],
  ["${EMPTY+alt}", "alt"],
  ["${UNSET+alt}", ""],
  ["${UNSET:+alt}", ""],
  // required, when set
  ["${HOME:?must}", "/root"],
  ["${EMPTY?must}", ""],
  // prefix / suffix removal
  ["${PATHV#*/}", "usr/local/bin/app.tar.gz"],
  ["${PATHV##*/}", "app.tar.gz"],
  ["${PATHV%.*}", "/usr/local/bin/app.tar"],
  ["${PATHV%%.*}", "/usr/local/bin/app"],
  ["${PATHV#/usr}", "/local/bin/app.tar.gz"],
  ["${PATHV#nomatch}", "/usr/local/bin/app.tar.gz"],
  ["${PATHV%.t?r.gz}", "/usr/local/bin/app"],
  ["${STAR#a\\*}", "b"],
  ["${STAR%\\*b}", "a"],
  ["${UNSET#x}", ""],
  // replacement
  ["${REPEAT/X/-}", "a-bXc"],
  ["${REPEAT//X/-}", "a-b-c"],
  ["${REPEAT//X/}", "abc"],
  ["${REPEAT/a*b/Z}", "ZXc"],
  ["${REPEAT//?X/_}", "__c"],
  ["${UNSET/a/b}", ""],
  // quoting
  ["'$HOME'", "$HOME"],
  ['"$HOME"', "/root"],
  ['"a  b"', "a  b"],
  ["'a'\"b\"c", "abc"],
  ['"it\'s"', "it's"],
  ["\\$HOME", "$HOME"],
  ['"\\$HOME"', "$HOME"],
  ['"a\\"b"', 'a"b'],
  ['"a\\b"', "a\\b"], // backslash before an ordinary character stays inside double quotes
  ["a\\ b", "a b"],
  ["a\\", "a"], // trailing escape is dropped
  ["'\\n'", "\\n"],
  ['"${UNSET:-"in quotes"}"', "in quotes"],
];

describe("expandWord", () => {
  it.each(cases)("%s → %s", (input, expected) => {
    expect(expandWord(input, lookup)).toBe(expected);
  });

  it("uses the backtick as escape when asked", () => {
    expect(expandWord("`$HOME", lookup, { escapeToken: "`" })).toBe("$HOME");
    expect(expandWord("C:\\dir", lookup, { escapeToken: "`" })).toBe("C:\\dir");
  });

  it("keeps unset references when skipUnset is set", () => {
    expect(expandWord("$X-${Y}-${Z:-d}-$HOME", lookup, { skipUnset: true })).toBe("$X-${Y}-${Z:-d}-/root");
  });

  it("keeps quotes with rawQuotes", () => {
    expect(expandWord(`'a' "$HOME"`, lookup, { rawQuotes: true })).toBe(`'a' "/root"`);
  });
});

// [input, code, message fragment]
const errors: [string, string, string][] = [
  ["${HOME", "MOLT_SHELL_UNTERMINATED", "missing '}'"],
  ["${", "MOLT_SHELL_UNTERMINATED", "missing '}'"],
  ["${UNSET:-abc", "MOLT_SHELL_UNTERMINATED", "missing '}'"],
  ["${}", "MOLT_SHELL_BAD_SUBSTITUTION", "bad substitution"],
  ["${:-x}", "MOLT_SHELL_BAD_SUBSTITUTION", "bad substitution"],
  ["${{x}}", "MOLT_SHELL_BAD_SUBSTITUTION", "bad substitution"],
  ["${HOME:=x}", "MOLT_SHELL_UNSUPPORTED_MODIFIER", "(:=)"],
  ["${HOME:#x}", "MOLT_SHELL_UNSUPPORTED_MODIFIER", "(:#)"],
  ["${HOME:%x}", "MOLT_SHELL_UNSUPPORTED_MODIFIER", "(:%)"],
  ["${HOME^^}", "MOLT_SHELL_UNSUPPORTED_MODIFIER", "(^)"],
  ["${#HOME}", "MOLT_SHELL_UNSUPPORTED_MODIFIER", "(H)"],
  ["${UNSET:?}", "MOLT_SHELL_REQUIRED_VARIABLE", "UNSET: is not allowed to be unset"],
  ["${UNSET?custom message}", "MOLT_SHELL_REQUIRED_VARIABLE", "UNSET: custom message"],
  ["${EMPTY:?}", "MOLT_SHELL_REQUIRED_VARIABLE", "EMPTY: is not allowed to be empty"],
  ["${EMPTY:?need it}", "MOLT_SHELL_REQUIRED_VARIABLE", "EMPTY: need it"],
  ["${REPEAT//X}", "MOLT_SHELL_UNTERMINATED", "missing '/'"],
  ["'open", "MOLT_SHELL_UNTERMINATED", "single-quote"],
  ['"open', "MOLT_SHELL_UNTERMINATED", "double-quote"],
];

describe("expandWord errors", () => {
  it.each(errors)("%s → %s", (input, code, fragment) => {
    let caught: unknown;
    try {
      expandWord(input, lookup);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ShellExpansionError);
    expect((caught as ShellExpansionError).code).toBe(code);
    expect((caught as ShellExpansionError).message).toContain(fragment);
  });
});

describe("expandWords (word splitting)", () => {
  const splitCases: [string, string[]][] = [
    ["80 443", ["80", "443"]],
    ["  80\t443  ", ["80", "443"]],
    ["$SPACED", ["a", "b", "c"]],
    ['"$SPACED"', ["a b  c"]],
    ["x$SPACED", ["xa", "b", "c"]],
    ["'a b' c", ["a b", "c"]],
    ["a\\ b c", ["a b", "c"]],
    ["$UNSET", []],
    ["8080/tcp ${UNSET:-9090/udp}", ["8080/tcp", "9090/udp"]],
  ];
  it.each(splitCases)("%s → %j", (input, expected) => {
    expect(expandWords(input, lookup)).toEqual(expected);
  });
});

describe("expandWordDetailed", () => {
  it("reports used and unset variables", () => {
    const r = expandWordDetailed("$HOME/${NOPE:-x}/$EMPTY", lookup);
    expect(r.value).toBe("/root/x/");
    expect(r.used).toEqual(["HOME", "NOPE", "EMPTY"]);
    expect(r.unset).toEqual(["NOPE"]);
  });
});
