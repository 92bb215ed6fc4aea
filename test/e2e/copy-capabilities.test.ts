import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { readOciLayout } from "../harness/image-read.js";
import { molt } from "../harness/molt-cli.js";
import { readTar } from "../harness/tar-read.js";

// Issue 14 / finding F18, from current BuildKit's chain: fsutil sends each context file's xattrs
// with its stat (stat_unix.go loadXattr) and its copy applies them (copyXAttrs), but the layer
// tar is written by containerd's archive ChangeWriter, which records only
// `SCHILY.xattr.security.capability`. So a COPY layer carries a file's capabilities and no
// `user.*` attribute. Judged on the layer tar with the harness's own tar reader.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-caps-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The raw security.capability value of `path` on disk, as getfattr reads it. */
const capOnDisk = (path: string): Buffer => {
  const out = execFileSync(
    "getfattr",
    ["-h", "-n", "security.capability", "-e", "hex", "--absolute-names", path],
    {
      encoding: "utf8",
    },
  );
  return Buffer.from(/security\.capability=0x([0-9a-f]+)/.exec(out)![1]!, "hex");
};

async function lastLayer(ctx: string, args: string[] = []): Promise<Map<string, Record<string, string>>> {
  const layout = join(dir, `l${++n}`);
  const r = await molt([
    "build",
    "-c",
    ctx,
    "--no-push",
    "--oci-layout-path",
    layout,
    "--insecure-pull",
    ...args,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const image = await readOciLayout(layout);
  return new Map(readTar(image.layers.at(-1)!).map((e) => [e.path, e.xattrs]));
}

describe("F18: COPY keeps file capabilities, not other xattrs", () => {
  test("a context file's security.capability is in the layer; user.* is not", async () => {
    const ctx = await writeContext(
      join(dir, `c${++n}`),
      `FROM ${BASE}\nCOPY bin /bin2\nCOPY note.txt /note.txt\n`,
      {
        "bin/tool": "#!/bin/sh\n",
        "bin/plain": "#!/bin/sh\n",
        "note.txt": "x\n",
      },
    );
    execFileSync("setcap", ["cap_net_bind_service+ep", join(ctx, "bin", "tool")]);
    execFileSync("setfattr", ["-n", "user.note", "-v", "kept", join(ctx, "bin", "tool")]);
    execFileSync("setfattr", ["-n", "user.note", "-v", "kept", join(ctx, "note.txt")]);
    const want = capOnDisk(join(ctx, "bin", "tool")).toString("base64");

    const layout = join(dir, `l${++n}`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", layout, "--insecure-pull"]);
    expect(r.code, r.stderr).toBe(0);
    const image = await readOciLayout(layout);
    const copyBin = new Map(readTar(image.layers.at(-2)!).map((e) => [e.path, e.xattrs]));
    expect(copyBin.get("bin2/tool")).toEqual({ "security.capability": want });
    expect(copyBin.get("bin2/plain")).toEqual({});
    const copyNote = new Map(readTar(image.layers.at(-1)!).map((e) => [e.path, e.xattrs]));
    expect(copyNote.get("note.txt")).toEqual({});
  });

  test("COPY --from a stage keeps a capability a file there has (put by ADD of a tar with it)", async () => {
    // busybox has no setcap, so the stage gets the capability from a GNU tar with xattrs
    const ctx = await writeContext(
      join(dir, `c${++n}`),
      `FROM ${BASE} AS s\nADD t.tar /o/\nFROM ${BASE}\nCOPY --from=s /o /o\n`,
      {
        "src/t": "x\n",
      },
    );
    const src = join(ctx, "src");
    execFileSync("setcap", ["cap_net_raw+ep", join(src, "t")]);
    execFileSync("tar", [
      "--xattrs",
      "--xattrs-include=security.capability",
      "-cf",
      join(ctx, "t.tar"),
      "-C",
      src,
      "t",
    ]);
    const want = capOnDisk(join(src, "t")).toString("base64");
    const layer = await lastLayer(ctx);
    expect(layer.get("o/t")).toEqual({ "security.capability": want });
  });

  test("the source key sees a capability: setting one is a cache miss, not the old layer", async () => {
    const cacheDir = join(dir, "cache");
    const ctx = await writeContext(join(dir, `c${++n}`), `FROM ${BASE}\nCOPY tool /tool\n`, {
      tool: "#!/bin/sh\n",
    });
    expect((await lastLayer(ctx, ["--cache-dir", cacheDir])).get("tool")).toEqual({});
    execFileSync("setcap", ["cap_net_bind_service+ep", join(ctx, "tool")]);
    const want = capOnDisk(join(ctx, "tool")).toString("base64");
    expect((await lastLayer(ctx, ["--cache-dir", cacheDir])).get("tool")).toEqual({
      "security.capability": want,
    });
  });
});
