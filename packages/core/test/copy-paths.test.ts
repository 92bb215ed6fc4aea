import { describe, expect, it } from "vitest";
import { ancestors, posixJoin } from "../src/instructions/copy-paths.js";

describe("posixJoin", () => {
  it("joins clean parts with one slash each", () => {
    expect(posixJoin("files", "d0/f0.txt")).toBe("files/d0/f0.txt");
    expect(posixJoin("", "app", "", "x")).toBe("app/x");
    expect(posixJoin("")).toBe("");
  });
  it("drops empty and dot segments wherever they are", () => {
    expect(posixJoin("/app/", "./src//a.txt")).toBe("app/src/a.txt");
    expect(posixJoin(".", "a/./b", "c/.")).toBe("a/b/c");
    expect(posixJoin("/", "/")).toBe("");
    expect(posixJoin("a//", "//b")).toBe("a/b");
  });
  it("keeps segments that only begin with a dot", () => {
    expect(posixJoin(".git", "..a", ".x/.y")).toBe(".git/..a/.x/.y");
  });
});

describe("ancestors", () => {
  it("lists a path's parents, outermost first", () => {
    expect(ancestors("a/b/c")).toEqual(["a", "a/b"]);
    expect(ancestors("a")).toEqual([]);
  });
});
