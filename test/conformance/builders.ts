import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { build } from "@molt/core";
import { DOCKER_CLIENT, type RunningDockerd } from "../harness/dockerd.js";
import { run } from "../harness/exec.js";
import { type ImageSummary, summariseConfig } from "../harness/image-compare.js";
import { type ImageOnDisk, readDockerArchive, readOciLayout } from "../harness/image-read.js";
import { applyLayers } from "../harness/image-tree.js";
import type { Case } from "./case.js";

/** What one builder made of a case: the compared summary, or the first lines of its error. */
export type Outcome = { ok: true; image: ImageSummary } | { ok: false; error: string };

/** The builders of the suite: molt and the two references. */
export type Builder = "molt" | "buildah" | "docker";

/** Reads an image on disk into the compared summary (our own layer applier, not molt's reader). */
export function summarise(img: ImageOnDisk): ImageSummary {
  return { tree: Object.fromEntries(applyLayers(img.layers)), config: summariseConfig(img.config) };
}

/**
 * The telling part of a failed build's error: molt's message, or a reference's last output
 * lines without its command line and BuildKit's `#N` progress lines.
 */
const errorLines = (e: unknown): string => {
  const lines = String(e instanceof Error ? e.message : e)
    .split("\n")
    .filter((l) => l.trim() !== "");
  const body = / exited \d+$/.test(lines[0] ?? "") ? lines.slice(1) : lines;
  return body
    .filter((l) => !/^#\d+ /.test(l))
    .slice(-6)
    .join("\n");
};

const argFlags = (k: Case): string[] => [
  ...Object.entries(k.buildArgs ?? {}).flatMap(([n, v]) => ["--build-arg", `${n}=${v}`]),
  ...(k.target ? ["--target", k.target] : []),
];

/** buildah 1.28 as its machine note says: chroot isolation, vfs storage in `root`, docker format (keeps HEALTHCHECK/ONBUILD/SHELL). */
export async function buildWithBuildah(k: Case, ctx: string, work: string, root: string): Promise<Outcome> {
  const g = ["--root", join(root, "storage"), "--runroot", join(root, "run"), "--storage-driver", "vfs"];
  const tag = `localhost/conform/${k.name}:latest`;
  await mkdir(work, { recursive: true });
  try {
    await run("buildah", [
      ...g,
      "bud",
      "--isolation",
      "chroot",
      "--tls-verify=false",
      "--format",
      "docker",
      "--network",
      "host",
      "-q",
      ...argFlags(k),
      "-t",
      tag,
      ctx,
    ]);
  } catch (e) {
    return { ok: false, error: errorLines(e) };
  }
  const file = join(work, "buildah.tar");
  await run("buildah", [...g, "push", "-q", tag, `docker-archive:${file}:${tag}`]);
  await run("buildah", [...g, "rmi", "-f", tag], { allowFail: true });
  const img = summarise(await readDockerArchive(file));
  await rm(file, { force: true });
  return { ok: true, image: img };
}

/** Docker 20.10's BuildKit (DOCKER_BUILDKIT=1, `--network host`), image out with `docker save`. */
export async function buildWithDocker(
  k: Case,
  ctx: string,
  work: string,
  d: RunningDockerd,
): Promise<Outcome> {
  const tag = `conform/${k.name}:latest`;
  await mkdir(work, { recursive: true });
  try {
    await run(DOCKER_CLIENT, ["build", "--network", "host", "-q", ...argFlags(k), "-t", tag, ctx], {
      env: d.env,
    });
  } catch (e) {
    return { ok: false, error: errorLines(e) };
  }
  const file = join(work, "docker.tar");
  await run(DOCKER_CLIENT, ["save", "-o", file, tag], { env: d.env });
  await run(DOCKER_CLIENT, ["rmi", "-f", tag], { env: d.env, allowFail: true });
  const img = summarise(await readDockerArchive(file));
  await rm(file, { force: true });
  return { ok: true, image: img };
}

/** molt in-process through `build()`, to an OCI layout. */
export async function buildWithMolt(k: Case, ctx: string, work: string, tmp: string): Promise<Outcome> {
  const layout = join(work, "molt-layout");
  await mkdir(work, { recursive: true });
  try {
    await build({
      context: ctx,
      noPush: true,
      ociLayoutPath: layout,
      registries: { "*": { pull: { insecure: true } } },
      tmpDir: tmp,
      ...(k.buildArgs ? { buildArgs: k.buildArgs } : {}),
      ...(k.target ? { target: k.target } : {}),
    });
  } catch (e) {
    return { ok: false, error: errorLines(e) };
  }
  const img = summarise(await readOciLayout(layout));
  await rm(layout, { recursive: true, force: true });
  return { ok: true, image: img };
}
