import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ContextSource, openContext } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import { parseDockerfile, planBuild } from "@molt/parser";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { sourceInputs } from "../src/cache/content-digest.js";
import { copySourcesAhead, walkContextAhead } from "../src/cache/context-ahead.js";
import {
  contextReadsOf,
  shareContextReads,
  walkContext,
  walkContextAll,
} from "../src/cache/context-reads.js";

const stagesOf = (text: string) => planBuild(parseDockerfile(text, { file: "Dockerfile" }), {}).stages;

describe("copySourcesAhead", () => {
  test("plain context sources of the stages that start at once, in the order written", () => {
    const stages = stagesOf(
      [
        "FROM busybox AS a",
        "COPY src/ lib /app/",
        "RUN true",
        "COPY --from=busybox /bin /x",
        "COPY docs/ /d/",
        "FROM a",
        "COPY late/ /l/",
      ].join("\n"),
    );
    expect(copySourcesAhead(stages, 4)).toEqual(["src/", "lib", "docs/"]);
  });

  test("sources expansion could change, wildcards and stage copies are left out", () => {
    const stages = stagesOf(
      [
        "FROM busybox AS a",
        "ARG D=x",
        "COPY $D/ /a/",
        "COPY *.txt /t/",
        "COPY a\\b c\\*d /e/",
        "FROM busybox",
        "COPY --from=a /a /b",
        "COPY ok/ /ok/",
      ].join("\n"),
    );
    expect(copySourcesAhead(stages, 4)).toEqual(["ok/"]);
  });

  test("only the first `jobs` stages based on an image, each source once", () => {
    const stages = stagesOf(
      [
        "FROM busybox AS one",
        "COPY one/ /1/",
        "COPY one/ /2/",
        "FROM busybox",
        "COPY --from=one /1 /x",
        "COPY two/ /2/",
      ].join("\n"),
    );
    expect(copySourcesAhead(stages, 1)).toEqual(["one/"]);
    expect(copySourcesAhead(stages, 2)).toEqual(["one/", "two/"]);
  });
});

describe("walkContextAhead", () => {
  let dir: string;
  let context: ContextSource;
  let unshare: () => void;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "molt-context-ahead-"));
    await mkdir(join(dir, "files/sub"), { recursive: true });
    await writeFile(join(dir, "files/a"), "a");
    await writeFile(join(dir, "files/sub/b"), "b");
    await writeFile(join(dir, "single"), "s");
    context = await openContext(dir);
    unshare = shareContextReads(context);
  });
  afterEach(async () => {
    unshare();
    await context.close();
    await rm(dir, { recursive: true, force: true });
  });

  const paths = (entries: readonly FileEntry[]) => entries.map((e) => e.path);

  test("a directory walked ahead is the walk its keys take, not a replay", async () => {
    await walkContextAhead(context, ["files/", "single", "missing/"]);
    const reads = contextReadsOf(context)!;
    const all = await walkContextAll(context, "files");
    expect(paths(all)).toEqual(["files/a", "files/sub", "files/sub/b"]);
    expect(reads.replayed).toBe(0);
    // A second consumer (the COPY itself) replays it.
    const again: string[] = [];
    for await (const e of walkContext(context, "files")) again.push(e.path);
    expect(again).toEqual(["files/a", "files/sub", "files/sub/b"]);
    expect(reads.replayed).toBe(1);
  });

  test("a walk still running ahead is awaited by its consumer", async () => {
    const ahead = walkContextAhead(context, ["files"]);
    const got: string[] = [];
    for await (const e of walkContext(context, "files")) got.push(e.path);
    await ahead;
    expect(got).toEqual(["files/a", "files/sub", "files/sub/b"]);
    expect(contextReadsOf(context)!.replayed).toBe(0);
  });

  test("capabilities the keys read go through the getfattr started ahead, with the same inputs", async () => {
    execFileSync("setcap", ["cap_net_raw+ep", join(dir, "files/a")]);
    const top = (await context.stat("files")) as FileEntry;
    const plain = await sourceInputs(context, [top]);
    const reads = contextReadsOf(context)!;
    reads.startXattrReader();
    await walkContextAhead(context, ["files"]);
    expect(await sourceInputs(context, [top])).toEqual(plain);
    // Taken by that read; the capability is what the copy then finds.
    expect(reads.takeXattrReader()).toBeUndefined();
    expect(reads.caps.get(join(dir, "files/a"))?.toString("hex")).toBe(
      "0100000200200000000000000000000000000000",
    );
    expect(reads.caps.get(join(dir, "files/sub/b"))).toBeNull();
  });

  test("a walk ahead that failed is made again by its consumer, whose error it is", async () => {
    const controller = new AbortController();
    controller.abort();
    await walkContextAhead(context, ["files"], controller.signal);
    await contextReadsOf(context)!.prefetch(context, "gone", controller.signal);
    expect(paths(await walkContextAll(context, "files"))).toEqual(["files/a", "files/sub", "files/sub/b"]);
    await expect(walkContextAll(context, "gone")).rejects.toMatchObject({ code: expect.any(String) });
  });
});
