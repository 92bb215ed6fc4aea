import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { lockDir } from "./debian-base.js";
import { pushDebian } from "./debian-image.js";
import { run } from "./exec.js";
import { molt } from "./molt-cli.js";

const REPO = join(import.meta.dirname, "..", "..");
const CACHE = join(REPO, ".cache", "executor-image");

/** The executor image as pushed to the test registry, and what it took. */
export interface ExecutorImage {
  /** `REGISTRY/molt/executor:latest` */
  ref: string;
  /** `REGISTRY/molt/executor:debug` */
  debugRef: string;
  /** Seconds the molt build of the image took (0 when it came from the cache). */
  buildSeconds: number;
}

async function hashTree(dir: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      // The bundle's V8 code cache differs in its bytes at every make (V8 does not write it
      // reproducibly) but follows from the bundle and the node binary, which are hashed.
      if (/^code-cache-[0-9a-f]+\.bin$/.test(e.name)) continue;
      if (e.isDirectory()) await walk(p);
      else {
        h.update(`${relative(dir, p)}\0${(await stat(p)).mode}\0`);
        h.update(await readFile(p));
      }
    }
  };
  await walk(dir);
  return h.digest("hex").slice(0, 16);
}

/**
 * Builds the executor image (deploy/executor/Dockerfile) with molt itself and pushes it, with
 * its :debug variant, to `registry`. The build context is made by deploy/executor/make-context.mjs;
 * the Debian base comes from the cached debootstrap rootfs. The built image is kept as an OCI
 * layout under `.cache/executor-image/<hash of the context>`, so a run builds it at most once
 * and later runs on the same machine push the cached layout (with `molt push`).
 */
export async function executorImage(registry: string): Promise<ExecutorImage> {
  // Test files run in parallel processes: one builds, the others wait and then push the cached layout.
  await mkdir(CACHE, { recursive: true });
  const release = await lockDir(join(CACHE, "lock"));
  try {
    return await buildOrPush(registry);
  } finally {
    await release();
  }
}

async function buildOrPush(registry: string): Promise<ExecutorImage> {
  const ctx = join(REPO, ".cache", "executor-context");
  await run(process.execPath, [join(REPO, "deploy", "executor", "make-context.mjs"), ctx]);
  const key = await hashTree(ctx);
  const layout = join(CACHE, key, "layout");
  const ref = `${registry}/molt/executor:latest`;
  const debugRef = `${registry}/molt/executor:debug`;
  let buildSeconds = 0;
  if (existsSync(join(CACHE, key, "done"))) {
    const p = await molt(["push", `oci:${layout}:latest`, "-d", ref, "--insecure"]);
    if (p.code !== 0) throw new Error(`molt push of the cached executor image failed:\n${p.stderr}`);
  } else {
    const base = await pushDebian(registry);
    await rm(join(CACHE, key), { recursive: true, force: true });
    await mkdir(join(CACHE, key), { recursive: true });
    const t0 = Date.now();
    const b = await molt([
      "build",
      "-c",
      ctx,
      "-f",
      join(ctx, "Dockerfile"),
      "--build-arg",
      `BASE=${base}`,
      "-d",
      ref,
      "--oci-layout-path",
      layout,
      "--insecure",
      "--insecure-pull",
    ]);
    if (b.code !== 0) throw new Error(`molt build of the executor image failed:\n${b.stderr.slice(-4000)}`);
    buildSeconds = (Date.now() - t0) / 1000;
    await writeFile(join(CACHE, key, "done"), "");
  }
  const d = await molt([
    "build",
    "-c",
    ctx,
    "-f",
    join(ctx, "Dockerfile.debug"),
    "--build-arg",
    `EXECUTOR=${ref}`,
    "-d",
    debugRef,
    "--insecure",
    "--insecure-pull",
  ]);
  if (d.code !== 0)
    throw new Error(`molt build of the executor :debug image failed:\n${d.stderr.slice(-4000)}`);
  return { ref, debugRef, buildSeconds };
}
