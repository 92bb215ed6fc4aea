import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { busyboxLayout, CACHE_DIR } from "../harness/base-images.js";
import { run } from "../harness/exec.js";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Bumped whenever a variant below changes (it is part of every cache key). */
const VARIANTS_VERSION = "v3";

interface Desc {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/**
 * Tags `to` in an OCI layout as `from` with its config changed by `edit` — written by hand from
 * the image-spec (new config blob, new manifest blob, index entry), so no builder's code is used.
 */
async function retagWithConfig(
  layout: string,
  from: string,
  to: string,
  edit: (config: Record<string, unknown>) => void,
): Promise<void> {
  const blobPath = (d: string) => join(layout, "blobs", ...d.split(":"));
  const putBlob = async (b: string) => {
    const d = `sha256:${sha256(b)}`;
    await writeFile(blobPath(d), b);
    return { digest: d, size: Buffer.byteLength(b) };
  };
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: Desc[] };
  const src = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === from);
  if (!src) throw new Error(`layout ${layout} lacks tag ${from}`);
  const manifest = JSON.parse(await readFile(blobPath(src.digest), "utf8")) as { config: Desc };
  const image = JSON.parse(await readFile(blobPath(manifest.config.digest), "utf8")) as {
    config: Record<string, unknown>;
  };
  edit(image.config);
  manifest.config = { ...manifest.config, ...(await putBlob(JSON.stringify(image))) };
  const m = await putBlob(JSON.stringify(manifest));
  index.manifests = index.manifests.filter(
    (x) => x.annotations?.["org.opencontainers.image.ref.name"] !== to,
  );
  index.manifests.push({ ...src, ...m, annotations: { "org.opencontainers.image.ref.name": to } });
  await writeFile(join(layout, "index.json"), JSON.stringify(index));
}

/**
 * The conformance suite's own base variants, made from the busybox test layout with umoci and
 * hand-edited configs (cached in .cache/test-images):
 * - `nopasswd`: busybox without /etc/passwd and /etc/group;
 * - `onbuild`: busybox whose config carries ONBUILD triggers;
 * - `richcfg`: busybox with every inheritable config field set (Entrypoint, Cmd, WorkingDir,
 *   User, Env, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, Shell).
 * Returns the layout and an identity hash for cache keys.
 */
export async function conformanceLayout(): Promise<{ layout: string; identity: string }> {
  const bb = await busyboxLayout();
  const bbIndex = await readFile(join(bb, "index.json"), "utf8");
  const identity = sha256(`${bbIndex}${VARIANTS_VERSION}`).slice(0, 16);
  const dir = join(CACHE_DIR, `conformance-${identity}`);
  const layout = join(dir, "layout");
  if (existsSync(join(dir, "done"))) return { layout, identity };
  await rm(dir, { recursive: true, force: true });
  await cp(bb, layout, { recursive: true });
  const bundle = join(dir, "bundle");
  await run("umoci", ["unpack", "--image", `${layout}:amd64`, bundle]);
  await rm(join(bundle, "rootfs", "etc", "passwd"));
  await rm(join(bundle, "rootfs", "etc", "group"));
  await run("umoci", ["repack", "--image", `${layout}:nopasswd`, bundle]);
  await rm(bundle, { recursive: true, force: true });
  await retagWithConfig(layout, "amd64", "onbuild", (c) => {
    c.OnBuild = ["RUN echo triggered > /onbuild.txt", "ENV FROM_ONBUILD=yes", "COPY a.txt /onbuild-a.txt"];
  });
  await retagWithConfig(layout, "amd64", "richcfg", (c) => {
    Object.assign(c, {
      Entrypoint: ["/bin/sh", "-c"],
      Cmd: ["echo base"],
      WorkingDir: "/home/user",
      User: "user",
      Env: ["PATH=/bin", "BASE_ENV=base value"],
      ExposedPorts: { "8080/tcp": {} },
      Volumes: { "/vol": {} },
      Labels: { "base.label": "from base", "override.me": "base" },
      StopSignal: "SIGINT",
      Healthcheck: { Test: ["CMD-SHELL", "true"], Interval: 30_000_000_000 },
    });
  });
  await writeFile(join(dir, "done"), "");
  return { layout, identity };
}

/** Pushes the variants to `registry` and returns the `{{name}}` → reference map the cases use. */
export async function pushConformanceBases(
  registry: string,
): Promise<{ bases: Record<string, string>; identity: string }> {
  const { layout, identity } = await conformanceLayout();
  const bases: Record<string, string> = { busybox: `${registry}/test/busybox:latest` };
  for (const t of ["nopasswd", "onbuild", "richcfg"]) {
    // docker-format manifests: BuildKit and buildah keep every config field of a docker image
    await run("skopeo", [
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--format",
      "v2s2",
      `oci:${layout}:${t}`,
      `docker://${registry}/conform/${t}:latest`,
    ]);
    bases[t] = `${registry}/conform/${t}:latest`;
  }
  return { bases, identity };
}
