import { describe, expect, it } from "vitest";
import { goMatch } from "../src/index.js";

// Go path/filepath.Match semantics, from its documentation: `*` any run of non-separator
// characters, `?` one non-separator character, `[...]` classes with `^` negation and `lo-hi`
// ranges, `\` escaping; ErrBadPattern for malformed patterns.
const table: [pattern: string, name: string, result: boolean | "bad"][] = [
  ["abc", "abc", true],
  ["*", "abc", true],
  ["*c", "abc", true],
  ["a*", "a", true],
  ["a*", "abc", true],
  ["a*", "ab/c", false],
  ["a*/b", "abc/b", true],
  ["a*/b", "a/c/b", false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
  ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[c]", "abc", true],
  ["ab[b-d]", "abc", true],
  ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false],
  ["ab[^b-d]", "abe", true],
  ["a\\*b", "a*b", true],
  ["a\\*b", "ab", false],
  ["a?b", "a☺b", true],
  ["a[^a]b", "a☺b", true],
  ["a???b", "a☺b", false],
  ["a?b", "a/b", false],
  ["a*b", "a/b", false],
  ["[\\]a]", "]", true],
  ["[\\-]", "-", true],
  ["[x\\-]", "z", false],
  ["*x", "xxx", true],
  ["[]a]", "]", "bad"],
  ["[-]", "-", "bad"],
  ["[x-]", "x", "bad"],
  ["[a-b-c]", "a", "bad"],
  ["[", "a", "bad"],
  ["[^", "a", "bad"],
  ["a[", "x", "bad"],
  ["\\", "a", "bad"],
  ["*x\\", "ab", "bad"],
];

describe("goMatch", () => {
  it.each(table)("%s vs %s → %s", (pattern, name, result) => {
    expect(goMatch(pattern, name)).toBe(result);
  });
});
