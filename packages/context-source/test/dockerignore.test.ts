import { describe, expect, it } from "vitest";
import { BadPatternError, IgnoreMatcher, parseDockerignore } from "../src/index.js";

// Expectations written from docker's documentation of .dockerignore
// (docs.docker.com/build/concepts/context/#dockerignore-files), not from our output.

describe("parseDockerignore", () => {
  it("drops comments and blank lines, trims, cleans and strips a leading slash", () => {
    const text =
      "\uFEFF# comment\n\n  foo/bar/  \n/abs/path\n./rel\n!  /keep/this\n  # not a comment\na/../b\n";
    expect(parseDockerignore(text)).toEqual([
      "foo/bar",
      "abs/path",
      "rel",
      "!keep/this",
      "# not a comment",
      "b",
    ]);
  });
  it("handles CRLF line endings", () => {
    expect(parseDockerignore("a\r\nb\r\n")).toEqual(["a", "b"]);
  });
  it("a lone ! is kept and then rejected by the matcher", () => {
    expect(parseDockerignore("!\n")).toEqual(["!"]);
    expect(() => new IgnoreMatcher(["!"])).toThrow(BadPatternError);
  });
  it("rejects malformed patterns like docker (filepath.ErrBadPattern)", () => {
    expect(() => new IgnoreMatcher(["[a-"])).toThrow(BadPatternError);
    expect(() => new IgnoreMatcher(["a\\"])).toThrow(BadPatternError);
  });
});

type Row = [patterns: string, path: string, ignored: boolean];

const table: Row[] = [
  // docs example: */temp*, */*/temp*, temp?
  ["*/temp*", "somedir/temporary.txt", true],
  ["*/temp*", "somedir/temp", true],
  ["*/temp*", "somedir/temp/inside.txt", true],
  ["*/temp*", "temporary.txt", false],
  ["*/temp*", "a/b/temporary.txt", false],
  ["*/*/temp*", "somedir/subdir/temporary.txt", true],
  ["*/*/temp*", "somedir/temporary.txt", false],
  ["temp?", "tempa", true],
  ["temp?", "tempb", true],
  ["temp?", "temp", false],
  ["temp?", "tempab", false],
  ["temp?", "dir/tempa", false],
  // ** matches any number of directories, including zero
  ["**/*.go", "main.go", true],
  ["**/*.go", "cmd/app/main.go", true],
  ["**/*.go", "main.gox", false],
  ["**", "anything/at/all", true],
  ["a/**", "a/b/c", true],
  ["a/**/z", "a/z", true],
  ["a/**/z", "a/b/c/z", true],
  ["a/**/z", "b/z", false],
  // root is both working and root directory: /foo/bar and foo/bar are the same
  ["/foo/bar", "foo/bar", true],
  ["foo/bar", "foo/bar/baz.txt", true],
  ["foo/bar", "x/foo/bar", false],
  // exceptions, later lines win
  ["*.md\n!README.md", "CHANGES.md", true],
  ["*.md\n!README.md", "README.md", false],
  ["*.md\n!README.md", "docs/guide.md", false], // * does not cross /
  ["*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true],
  ["*.md\n!README*.md\nREADME-secret.md", "README-public.md", false],
  ["*.md\n!README*.md\nREADME-secret.md", "notes.md", true],
  ["*.md\nREADME-secret.md\n!README*.md", "README-secret.md", false],
  ["*.md\nREADME-secret.md\n!README*.md", "notes.md", true],
  // a directory pattern covers everything below it; an exception can re-include below it
  ["node_modules\n!node_modules/keep", "node_modules/x/index.js", true],
  ["node_modules\n!node_modules/keep", "node_modules/keep", false],
  ["node_modules\n!node_modules/keep", "node_modules/keep/a.js", false],
  // "." and cleaned forms
  [".", "a", false],
  ["./a/./b/", "a/b", true],
  ["a/../b", "b", true],
  // character classes, ?, escapes (Go filepath.Match syntax)
  ["[a-c].txt", "b.txt", true],
  ["[a-c].txt", "d.txt", false],
  ["[^a-c].txt", "d.txt", true],
  ["\\*.txt", "*.txt", true],
  ["\\*.txt", "a.txt", false],
  ["file.(1)", "file.(1)", true],
  ["file.(1)", "fileX(1)", false],
  // comment handling
  ["# foo", "# foo", false],
  ["# foo", "foo", false],
  [" # foo", "# foo", true],
  // Dockerfile and .dockerignore are ordinary names for the matcher
  ["Dockerfile\n.dockerignore", "Dockerfile", true],
  ["Dockerfile\n.dockerignore", ".dockerignore", true],
  ["*\n!src", "src/a.ts", false],
  ["*\n!src", "Dockerfile", true],
];

describe("IgnoreMatcher (docker's documented .dockerignore semantics)", () => {
  it.each(table)("%j vs %s → %s", (patterns, path, ignored) => {
    const m = new IgnoreMatcher(parseDockerignore(patterns));
    expect(m.matches(path)).toBe(ignored);
  });

  it("prunes an excluded directory unless an exception can reach below it", () => {
    const m = new IgnoreMatcher(parseDockerignore("node_modules\n!node_modules/keep\nbuild"));
    expect(m.mayIncludeBelow("node_modules")).toBe(true);
    expect(m.mayIncludeBelow("build")).toBe(false);
    const wild = new IgnoreMatcher(parseDockerignore("dir\n!**/keep"));
    expect(wild.mayIncludeBelow("dir")).toBe(true);
    expect(new IgnoreMatcher(["a"]).mayIncludeBelow("a")).toBe(false);
  });
});
