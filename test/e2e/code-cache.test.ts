import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../harness/exec.js";
import { MOLT_BIN, MOLT_LAUNCHER } from "../harness/molt-cli.js";

/*
 * The bundle's V8 code cache (packages/cli/scripts/bundle-loader.cjs, code-cache.cjs; issue 16):
 * `pnpm build` writes one per set of node flags, bin/molt and `node dist/bundle/bin.js` compile
 * the chunks they load from it, and a cache that is corrupt, truncated, stale (a chunk changed)
 * or made by another Node or under other flags is ignored: the chunk is compiled from source and
 * the CLI does what it does without a cache. `DEBUG=molt:code-cache` reports, at exit, how many
 * chunks came from the cache, how many V8 rejected and how many were compiled.
 */
const REPORT =
  /molt:code-cache (code-cache-[0-9a-f]{12}\.bin): (\d+) chunks from the cache, (\d+) rejected by V8, (\d+) compiled\n/;
let dir: string;
let ctx: string;

interface Report {
  file: string;
  cached: number;
  rejected: number;
  compiled: number;
}
function report(stderr: string): Report {
  const m = REPORT.exec(stderr);
  if (!m) throw new Error(`no code cache report in: ${stderr}`);
  return { file: m[1]!, cached: Number(m[2]), rejected: Number(m[3]), compiled: Number(m[4]) };
}

/** `node [flags] BUNDLE/bin.js build` of FROM scratch, reproducible (its digest depends on nothing else). */
async function build(bundle: string, flags: string[] = []) {
  const r = await run(
    process.execPath,
    [...flags, join(bundle, "bin.js"), "build", "-c", ctx, "--no-push", "--reproducible"],
    {
      env: { ...process.env, TMPDIR: dir, MOLT_MOUNT_NAMESPACE: "0", DEBUG: "molt:code-cache" },
      allowFail: true,
    },
  );
  return { ...r, report: report(r.stderr) };
}

/** A copy of the built bundle in the test's temp dir, to spoil. */
async function copyBundle(name: string): Promise<string> {
  const to = join(dir, name, "dist", "bundle");
  await cp(join(MOLT_BIN, ".."), to, { recursive: true });
  return to;
}

/** The code cache files of a bundle, and each one's header and cached data per chunk. */
async function caches(bundle: string) {
  const files = (await readdir(bundle)).filter((f) => /^code-cache-[0-9a-f]{12}\.bin$/.test(f));
  return Promise.all(
    files.map(async (f) => {
      const buf = await readFile(join(bundle, f));
      const nl = buf.indexOf(10);
      const head = JSON.parse(buf.subarray(0, nl).toString()) as {
        runtime: string;
        flags: string;
        chunks: Record<string, [string, number, number, string]>;
      };
      return { path: join(bundle, f), buf, nl, head };
    }),
  );
}

let reference: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-code-cache-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nENV A=1\nLABEL b=2\n");
  // The image as the bundle builds it compiled from source (no cache file at all).
  const bare = await copyBundle("bare");
  for (const c of await caches(bare)) await rm(c.path);
  const r = await build(bare);
  expect(r.code).toBe(0);
  expect(r.report.cached).toBe(0);
  expect(r.report.compiled).toBeGreaterThan(10);
  reference = r.stdout;
  expect(reference).toMatch(/^sha256:[0-9a-f]{64}\n$/);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the bundle's code cache", () => {
  test("pnpm build writes one for bin/molt's flags and one for none, each made by this node", async () => {
    const found = await caches(join(MOLT_BIN, ".."));
    // bin/molt's flags (--max-semi-space-size, --liftoff-only, ...) and none.
    expect(found.map((c) => c.head.flags.endsWith("NODE_OPTIONS=")).sort()).toEqual([true, true]);
    expect(found.map((c) => c.head.flags === "NODE_OPTIONS=").sort()).toEqual([false, true]);
    for (const c of found) {
      expect(c.head.runtime).toBe(`${process.version} ${process.arch} v8 ${process.versions.v8}`);
      expect(Object.keys(c.head.chunks)).toContain("cli.js");
    }
  });

  test("the training build compiled the registry path into it: undici's HTTP/1.1 client, pull and push", async () => {
    // scripts/code-cache.cjs trains on a two-stage build that pulls its base from an in-memory
    // registry and pushes to it (scripts/training-registry.cjs). A chunk the training never ran
    // is cached with its top level alone (3% of its source's size for undici's); one it ran has
    // its functions' bytecode too (about its source's size).
    const bundle = join(MOLT_BIN, "..");
    const names = (await readdir(bundle)).filter((f) => f.endsWith(".js"));
    const sources = await Promise.all(
      names.map(async (n) => ({ name: n, source: await readFile(join(bundle, n), "utf8") })),
    );
    const undici = sources.filter((c) => c.source.includes("llhttp_execute")).map((c) => c.name);
    expect(undici).toHaveLength(1);
    const size = sources.find((c) => c.name === undici[0])!.source.length;
    for (const c of await caches(bundle)) {
      const [, , length] = c.head.chunks[undici[0]!]!;
      expect(length).toBeGreaterThan(size / 2);
    }
  });

  test("trained outside a mount namespace, with no RUN, it is made and used too; as root, the RUN path is in pnpm build's", async () => {
    // bundle.mjs trains as root in `unshare --mount` (the training build then RUNs the base's
    // static /bin/true); elsewhere, or when that fails, code-cache.cjs trains without RUN.
    const b = await copyBundle("no-run");
    for (const c of await caches(b)) await rm(c.path);
    const script = join(MOLT_BIN, "..", "..", "..", "scripts", "code-cache.cjs");
    const env: NodeJS.ProcessEnv = { ...process.env, DEBUG: "", NODE_OPTIONS: "", TMPDIR: dir };
    delete env.MOLT_MOUNT_NAMESPACE_HELD_BY;
    const made = await run(process.execPath, [script, b], { env, allowFail: true });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).not.toMatch(/RUN \[/);
    const r = await build(b);
    expect([r.code, r.stdout, r.report.rejected, r.report.compiled]).toEqual([0, reference, 0, 0]);
    if (process.geteuid?.() !== 0) return;
    // The chunk of RUN's runner holds more compiled functions in pnpm build's cache.
    const names = (await readdir(b)).filter((f) => f.endsWith(".js"));
    const runner: string[] = [];
    for (const n of names)
      if ((await readFile(join(b, n), "utf8")).includes("molt-runner-setup-failed")) runner.push(n);
    expect(runner).toHaveLength(1);
    const [plain] = (await caches(b)).filter((c) => c.head.flags === "NODE_OPTIONS=");
    const [built] = (await caches(join(MOLT_BIN, ".."))).filter((c) => c.head.flags === "NODE_OPTIONS=");
    expect(built!.head.chunks[runner[0]!]![2]).toBeGreaterThan(plain!.head.chunks[runner[0]!]![2] + 20_000);
  });

  test("with no working loopback network (root: unshare -n) it falls back to a FROM scratch training", async () => {
    if (process.geteuid?.() !== 0) return;
    const b = await copyBundle("no-network");
    for (const c of await caches(b)) await rm(c.path);
    const train = join(MOLT_BIN, "..", "..", "..", "scripts", "train-code-cache.mjs");
    const code = `import { trainCodeCache } from ${JSON.stringify(train)}; trainCodeCache({ dir: ${JSON.stringify(b)} });`;
    const env: NodeJS.ProcessEnv = { ...process.env, DEBUG: "", TMPDIR: dir };
    delete env.MOLT_MOUNT_NAMESPACE_HELD_BY;
    const made = await run("unshare", ["-n", process.execPath, "--input-type=module", "-e", code], {
      env,
      allowFail: true,
    });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/code cache: trained on FROM scratch instead/);
    const r = await build(b);
    expect([r.code, r.stdout, r.report.rejected, r.report.compiled]).toEqual([0, reference, 0, 0]);
  });

  test("bin/molt compiles every chunk it loads from the cache", async () => {
    const r = await run(MOLT_LAUNCHER, ["--version"], { env: { ...process.env, DEBUG: "molt:code-cache" } });
    expect(r.stdout).toMatch(/^molt \S+ \(node v20\./);
    const rep = report(r.stderr);
    expect(rep.cached).toBeGreaterThan(0);
    expect([rep.rejected, rep.compiled]).toEqual([0, 0]);
  });

  test("a build from the cache makes the image a build from source makes", async () => {
    const r = await build(join(MOLT_BIN, ".."));
    expect(r.code).toBe(0);
    expect(r.report.cached).toBeGreaterThan(10);
    expect([r.report.rejected, r.report.compiled]).toEqual([0, 0]);
    expect(r.stdout).toBe(reference);
  });

  test("corrupt cached data is never handed to V8 (it would crash node): compiled from source", async () => {
    const b = await copyBundle("corrupt");
    for (const c of await caches(b)) {
      for (const [, offset, length] of Object.values(c.head.chunks)) {
        const mid = c.nl + 1 + offset + Math.floor(length / 2);
        for (let i = mid; i < Math.min(mid + 64, c.nl + 1 + offset + length); i++) c.buf[i]! ^= 0xff;
      }
      await writeFile(c.path, c.buf);
    }
    const r = await build(b);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(reference);
    expect(r.report.cached).toBe(0);
    expect(r.report.compiled).toBeGreaterThan(10);
  });

  test("a truncated or garbage cache file is ignored", async () => {
    const b = await copyBundle("truncated");
    const [c] = (await caches(b)).filter((x) => x.head.flags === "NODE_OPTIONS=");
    await writeFile(c!.path, c!.buf.subarray(0, c!.nl + 1 + 1000));
    const r = await build(b);
    expect([r.code, r.stdout, r.report.cached]).toEqual([0, reference, 0]);
    await writeFile(c!.path, Buffer.from("\x00\xffnot a cache\n{]"));
    const g = await build(b);
    expect([g.code, g.stdout, g.report.cached]).toEqual([0, reference, 0]);
  });

  test("a cache made by another Node version is ignored", async () => {
    const b = await copyBundle("other-node");
    for (const c of await caches(b)) {
      const head = {
        magic: "molt-code-cache-1",
        ...c.head,
        runtime: `v20.0.0 ${process.arch} v8 11.3.244.4-node.0`,
      };
      await writeFile(
        c.path,
        Buffer.concat([Buffer.from(`${JSON.stringify(head)}\n`), c.buf.subarray(c.nl + 1)]),
      );
    }
    const r = await build(b);
    expect([r.code, r.stdout, r.report.cached, r.report.rejected]).toEqual([0, reference, 0, 0]);
    expect(r.report.compiled).toBeGreaterThan(10);
  });

  test("a cache made under other V8 flags, filed under ours, is rejected by V8 and compiled", async () => {
    const b = await copyBundle("other-flags");
    const found = await caches(b);
    const semi = found.find((c) => c.head.flags !== "NODE_OPTIONS=")!;
    const none = found.find((c) => c.head.flags === "NODE_OPTIONS=")!;
    // The flagless cache's data under the file name and header of bin/molt's flags.
    const head = { ...none.head, flags: semi.head.flags };
    await writeFile(
      semi.path,
      Buffer.concat([Buffer.from(`${JSON.stringify(head)}\n`), none.buf.subarray(none.nl + 1)]),
    );
    const r = await build(b, semi.head.flags.split("\0").slice(0, -1));
    expect([r.code, r.stdout, r.report.cached]).toEqual([0, reference, 0]);
    expect(r.report.rejected).toBeGreaterThan(10);
  });

  test("a changed chunk is compiled from its new source; the others still come from the cache", async () => {
    const b = await copyBundle("stale");
    const entry = join(b, "cli.js");
    // Same length (V8 checks only the length): the cache must be refused on our hash.
    const src = await readFile(entry, "utf8");
    const changed = src.replace("EPIPE", "EPIPF");
    expect(changed).not.toBe(src);
    await writeFile(entry, changed);
    const r = await build(b);
    expect([r.code, r.stdout, r.report.compiled]).toEqual([0, reference, 1]);
    expect(r.report.cached).toBeGreaterThan(10);
  });
});
