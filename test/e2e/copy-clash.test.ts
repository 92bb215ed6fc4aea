import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "molt";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { buildAndUnpack } from "../harness/molt-cli.js";

// Issue 14 / finding F17: a copy never replaces what the image has with the other kind of
// entry. Written from tonistiigi/fsutil copy/copy.go: a source directory copied onto a path the
// destination has as anything but a directory (lstat: a symlink counts) fails with "cannot copy
// to non-directory: <path>" (copyDirectoryOnly), and a file copied onto a directory with "cannot
// replace to directory <path> with file" (ensureEmptyFileTarget); a parent that is a file fails
// the parents' MkdirAll. The top destination itself is first resolved through symlinks (RootPath).
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-clash-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds in process; resolves to the error's code and message, or "ok". */
async function outcome(
  dockerfile: string,
  files: Record<string, string>,
): Promise<{ code: string; message: string }> {
  const ctx = await writeContext(join(dir, `c${++n}`), dockerfile, files);
  const tmp = join(dir, `t${n}`);
  await mkdir(tmp);
  try {
    await build({
      context: ctx,
      noPush: true,
      ociLayoutPath: join(dir, `l${n}`),
      registries: { "*": { pull: { insecure: true } } },
      tmpDir: tmp,
    });
    return { code: "ok", message: "" };
  } catch (e) {
    // nothing left behind by the failed step
    expect(await readdir(tmp)).toEqual([]);
    const err = e as { code?: string; message: string };
    return { code: err.code ?? "", message: err.message };
  }
}

describe("F17: COPY onto the other kind of entry fails as BuildKit's copy does", () => {
  test("a source directory onto an image file, inside the copied tree", async () => {
    const r = await outcome(`FROM ${BASE}\nRUN mkdir -p /d && echo f > /d/x\nCOPY src /d\n`, {
      "src/x/inner": "i\n",
    });
    expect(r.code).toBe("MOLT_COPY_ONTO_NON_DIR");
    expect(r.message).toMatch(/^Dockerfile:3:1: COPY: cannot copy to non-directory: \/d\/x /);
  });

  test("a source directory onto an image symlink to a directory, inside the copied tree", async () => {
    const r = await outcome(`FROM ${BASE}\nRUN mkdir -p /d /real && ln -s /real /d/x\nCOPY src /d\n`, {
      "src/x/inner": "i\n",
    });
    expect(r.code).toBe("MOLT_COPY_ONTO_NON_DIR");
    expect(r.message).toContain("cannot copy to non-directory: /d/x");
  });

  test("a source directory onto an image file as the destination itself", async () => {
    const r = await outcome(`FROM ${BASE}\nRUN echo f > /f\nCOPY src /f\n`, { "src/a": "a\n" });
    expect(r.code).toBe("MOLT_COPY_ONTO_NON_DIR");
    expect(r.message).toContain("cannot copy to non-directory: /f");
  });

  test("a destination whose parent is an image file", async () => {
    const r = await outcome(`FROM ${BASE}\nRUN echo f > /f\nCOPY a /f/sub/\n`, { a: "a\n" });
    expect(r.code).toBe("MOLT_COPY_ONTO_NON_DIR");
    expect(r.message).toMatch(/^Dockerfile:3:1: COPY: cannot copy to non-directory: \/f /);
  });

  test("a source file onto an image directory, inside the copied tree", async () => {
    const r = await outcome(`FROM ${BASE}\nRUN mkdir -p /d/x/keep\nCOPY src /d\n`, { "src/x": "file\n" });
    expect(r.code).toBe("MOLT_COPY_ONTO_DIR");
    expect(r.message).toMatch(/^Dockerfile:3:1: COPY: cannot replace to directory \/d\/x with file/);
  });

  test("the same kinds merge: directory into directory, file over file, file over symlink", async () => {
    const ctx = await writeContext(
      join(dir, `c${++n}`),
      `FROM ${BASE}\nRUN mkdir -p /d/sub && echo old > /d/sub/keep && echo old > /d/f && ln -s /etc/passwd /d/ln\nCOPY src /d\n`,
      { "src/sub/new": "new\n", "src/f": "new\n", "src/ln": "file\n" },
    );
    const r = await buildAndUnpack(ctx, join(dir, `w${n}`));
    expect(r.code, r.stderr).toBe(0);
    const d = join(r.rootfs, "d");
    expect(await readFile(join(d, "sub", "keep"), "utf8")).toBe("old\n");
    expect(await readFile(join(d, "sub", "new"), "utf8")).toBe("new\n");
    expect(await readFile(join(d, "f"), "utf8")).toBe("new\n");
    expect(await readFile(join(d, "ln"), "utf8")).toBe("file\n");
    expect(await readFile(join(r.rootfs, "etc", "passwd"), "utf8")).not.toBe("file\n");
  });
});
