import type { Change, FileEntry } from "@molt/oci";
import { describe, expect, it } from "vitest";
import { addCapabilities } from "../src/instructions/copy-capabilities.js";
import { CopyTargetCheck } from "../src/instructions/copy-clash.js";
import { type CopyItem, copyItems } from "../src/instructions/copy-core.js";
import { keepHardLinks } from "../src/instructions/copy-links.js";
import { reRoot } from "../src/instructions/copy-paths.js";
import type { ListedContents } from "../src/instructions/copy-selection.js";
import type { RootView } from "../src/stage/root-view.js";
import type { StageRuntime } from "../src/stage/runtime.js";

const at = { file: "Dockerfile", line: 2, column: 1 };

const file = (path: string, extra: Partial<FileEntry> = {}): FileEntry => ({
  path,
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  size: 3,
  mtimeNs: 5n,
  source: `/ctx/${path}`,
  ...extra,
});
const dir = (path: string): FileEntry => ({ ...file(path), type: "directory", mode: 0o755, size: 0 });

/** A root view over `nodes` (layer path → type); everything else is absent. */
function viewOf(nodes: Record<string, "directory" | "file">): RootView {
  return {
    kind: "index",
    lstat: async (p) => {
      const type = p === "" ? "directory" : nodes[p];
      return type && { type, mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n };
    },
    readFile: async () => undefined,
  };
}

/** Runs copyItems with a runtime that keeps the changes it is given. */
async function copied(items: CopyItem[], dest: string, view: RootView | undefined): Promise<Change[]> {
  let got: Change[] = [];
  const rt = {
    context: { root: "/ctx" },
    options: {},
    state: { config: { config: {} } },
    stepId: "s1",
    events: { listening: false, emit: () => {} },
    rootView: async () => view,
    addEmptyHistory: () => {},
    addLayer: async (changes: Change[]) => {
      got = changes;
    },
  } as unknown as StageRuntime;
  await copyItems(rt, items, {
    dest,
    sourceCount: items.length,
    createdBy: "COPY",
    location: at,
    keyword: "COPY",
  });
  return got;
}

/** A directory's contents both ways: listed at once, and streamed re-rooted (as entriesUnder does). */
function contentsOf(path: string, entries: FileEntry[], listed: boolean): CopyItem {
  const strip = path === "" ? "" : `${path}/`;
  const walk: ListedContents = { dir: path, entries, strip };
  return {
    kind: "contents",
    contents: async function* () {
      for (const e of entries) yield { ...e, path: e.path.slice(strip.length) };
    },
    ...(listed ? { listed: async () => walk } : {}),
  };
}

const brief = (changes: Change[]) =>
  changes.map((c) => (c.kind === "add" ? `${c.entry.path} ${c.entry.type} ${c.entry.uid}` : c.kind));

describe("reRoot", () => {
  it("gives a clean path below `under/` back as it is", () => {
    const same = "files/d0/f0.txt";
    expect(reRoot("files/", "files")(same)).toBe("files/d0/f0.txt");
    expect(reRoot("", "")("a/b")).toBe("a/b");
  });
  it("moves paths from one directory to another", () => {
    expect(reRoot("src/", "app")("src/a/b.txt")).toBe("app/a/b.txt");
    expect(reRoot("src/", "")("src/a")).toBe("a");
    expect(reRoot("", "app")("a")).toBe("app/a");
  });
  it("cleans what is not clean, as posixJoin does", () => {
    expect(reRoot("files/", "files")("files/a//b")).toBe("files/a/b");
    expect(reRoot("files/", "files")("files/./b")).toBe("files/b");
    expect(reRoot("", "")("a/")).toBe("a");
  });
  it("joins a path outside `strip` whole", () => {
    expect(reRoot("files/", "files")("other/x")).toBe("files/other/x");
  });
});

describe("CopyTargetCheck.isFreshTree", () => {
  it("is true only for an absent directory with nothing of the copy below it", () => {
    const written = new Map<string, FileEntry>([["new", dir("new")]]);
    const check = new CopyTargetCheck(viewOf({}), written, "COPY", at);
    expect(check.isFreshTree("new")).toBe(false); // not known absent
    check.markAbsent("new");
    expect(check.isFreshTree("new")).toBe(true);
    written.set("newer/x", file("newer/x"));
    expect(check.isFreshTree("new")).toBe(true); // "newer/" is not below "new/"
    written.set("new/x", file("new/x"));
    expect(check.isFreshTree("new")).toBe(false);
    expect(check.isFreshTree("")).toBe(false);
  });
});

describe("addCapabilities", () => {
  it("gives the known capability to files only, nothing read", async () => {
    const cap = Buffer.from([1, 2]);
    const entries = new Map<string, FileEntry>([
      ["a", file("a", { source: "/s/a" })],
      ["b", file("b", { source: "/s/b", xattrs: { "user.x": Buffer.from("y") } })],
      ["l", { ...file("l", { source: "/s/a" }), type: "hardlink", linkTarget: "a" }],
      ["c", file("c", { source: "/s/c" })],
    ]);
    const known = new Map([
      ["/s/a", cap],
      ["/s/b", cap],
      ["/s/c", null],
    ]);
    await addCapabilities(entries, known);
    expect(entries.get("a")?.xattrs).toEqual({ "security.capability": cap });
    expect(entries.get("b")?.xattrs).toEqual({ "user.x": Buffer.from("y"), "security.capability": cap });
    expect(entries.get("l")?.xattrs).toBeUndefined();
    expect(entries.get("c")?.xattrs).toBeUndefined();
    expect([...entries.keys()]).toEqual(["a", "b", "l", "c"]);
  });
});

describe("keepHardLinks", () => {
  it("links a second name of an inode in the same scope to the first", () => {
    const scope = {};
    const entries = new Map<string, FileEntry>([
      ["x", file("x", { inode: "1:7" })],
      ["y", file("y", { inode: "1:7" })],
    ]);
    keepHardLinks(
      entries,
      new Map([
        ["x", scope],
        ["y", scope],
      ]),
    );
    expect(entries.get("y")).toMatchObject({ type: "hardlink", linkTarget: "x", size: 0 });
    keepHardLinks(entries, new Map());
    expect(entries.get("x")?.type).toBe("file");
  });
});

describe("copyItems with listed contents", () => {
  const walk = [dir("files/d0"), file("files/d0/f0.txt"), file("files/top")];

  it("copies what the stream copies, into a directory the image lacks", async () => {
    for (const listed of [true, false]) {
      const changes = await copied([contentsOf("files", walk, listed)], "/files/", viewOf({}));
      expect(brief(changes)).toEqual([
        "files directory 0",
        "files/d0 directory 0",
        "files/d0/f0.txt file 0",
        "files/top file 0",
      ]);
      const f0 = changes[2]?.kind === "add" ? changes[2].entry : undefined;
      expect(f0).toMatchObject({ mode: 0o644, size: 3, source: "/ctx/files/d0/f0.txt", mtimeNs: 5n });
    }
  });

  it("still refuses a directory landing on an image file", async () => {
    for (const listed of [true, false]) {
      const into = copied(
        [contentsOf("files", walk, listed)],
        "/app/",
        viewOf({ app: "directory", "app/d0": "file" }),
      );
      await expect(into).rejects.toMatchObject({ code: "MOLT_COPY_ONTO_NON_DIR" });
    }
  });

  it("checks a second source against what the first put there", async () => {
    for (const listed of [true, false]) {
      const second = [file("more/d0")];
      const items = [contentsOf("files", walk, listed), contentsOf("more", second, listed)];
      await expect(copied(items, "/new/", viewOf({}))).rejects.toMatchObject({ code: "MOLT_COPY_ONTO_DIR" });
    }
  });

  it("copies without a root view (FROM scratch)", async () => {
    const changes = await copied([contentsOf("files", walk, true)], "/out/", undefined);
    expect(brief(changes)).toEqual([
      "out directory 0",
      "out/d0 directory 0",
      "out/d0/f0.txt file 0",
      "out/top file 0",
    ]);
  });
});
