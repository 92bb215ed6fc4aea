import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ContextProgressEvent,
  IgnoreMatcher,
  openContext,
  openDirectoryContext,
  registerContextScheme,
  UnknownContextSchemeError,
} from "../src/index.js";
import { makeTree, SAMPLE, sh } from "./helpers.js";

let dir: string;
let tmpParent: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-schemes-"));
  tmpParent = join(dir, "tmp");
  await makeTree(tmpParent, {});
  await makeTree(join(dir, "src"), SAMPLE);
  await sh("sh", ["-c", `tar -C ${dir}/src -czf ${dir}/ctx.tar.gz .`]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("scheme registry", () => {
  it("a user-registered scheme is used without touching molt", async () => {
    const seen: string[] = [];
    registerContextScheme("mem", async (spec, opts) => {
      seen.push(spec);
      return openDirectoryContext(join(dir, "src"), { ...opts, description: `memory ${spec}` });
    });
    const ctx = await openContext("mem://bucket/key", { subPath: "app" });
    expect(seen).toEqual(["mem://bucket/key"]);
    expect(ctx.description).toBe("memory mem://bucket/key");
    expect(await ctx.stat("main.sh")).toMatchObject({ type: "file", mode: 0o755 });
  });

  it("an unknown scheme is a typed error", async () => {
    const err = await openContext("swift://bucket/ctx.tar.gz").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownContextSchemeError);
    expect((err as UnknownContextSchemeError).scheme).toBe("swift");
  });
});

describe("progress and cancellation", () => {
  it("reports extraction progress and readiness", async () => {
    const events: ContextProgressEvent[] = [];
    const ctx = await openContext(`tar://${dir}/ctx.tar.gz`, {
      tmpDir: tmpParent,
      onProgress: (e) => events.push(e),
    });
    expect(events.at(-1)).toEqual({ type: "molt:context:ready", description: `tarball ${dir}/ctx.tar.gz` });
    expect(events.find((e) => e.type === "molt:context:extract")).toMatchObject({
      type: "molt:context:extract",
      entries: 14,
    });
    await ctx.close();
  });

  it("an abort while reading stdin stops promptly and removes the temp dir", async () => {
    const stdin = new PassThrough();
    createReadStream(`${dir}/ctx.tar.gz`, { end: 99 }).pipe(stdin, { end: false }); // then stalls
    const ac = new AbortController();
    const opening = openContext("tar://stdin", { stdin, signal: ac.signal, tmpDir: tmpParent });
    setTimeout(() => ac.abort(new Error("user cancelled")), 100);
    await expect(opening).rejects.toThrow("user cancelled");
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("an already-aborted signal opens nothing", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(openContext(join(dir, "src"), { signal: ac.signal })).rejects.toThrow();
  });

  it("walk stops on abort", async () => {
    const ctx = await openContext(join(dir, "src"));
    const ac = new AbortController();
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of ctx.walk("", { signal: ac.signal })) {
          seen.push(e.path);
          ac.abort();
        }
      })(),
    ).rejects.toThrow();
    expect(seen.length).toBeLessThan(5);
  });
});

describe("docker's walk-time .dockerignore quirks", () => {
  it("decides each path from its parent's per-pattern results, as BuildKit's context walk does", () => {
    // BuildKit does not re-check a later pattern against the parents of a path once the parent
    // was decided, so "a/b" stays included here although the last line matches its parent.
    const m = new IgnoreMatcher(["a", "!a/b", "a"]);
    expect(m.matches("a")).toBe(true);
    expect(m.matches("a/b")).toBe(false);
    expect(m.matches("a/c")).toBe(true);
  });
});
