import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore, writeLayer } from "@molt/layer-writer";
import type { Change } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GcsStandIn, startGcsStandIn } from "../../../test/harness/gcs-server.js";
import { type RunningGitDaemon, startGitDaemon } from "../../../test/harness/git-daemon.js";
import { type ContextSource, type OpenContextOptions, openContext } from "../src/index.js";
import { makeTestCa, makeTree, SAMPLE, sh } from "./helpers.js";

// Every source must give the same COPY layer for the same content. git cannot hold an empty
// directory, so the shared sample has none.
const { "app/empty/": _empty, ...TREE } = SAMPLE;

let dir: string;
let gcs: GcsStandIn;
let daemon: RunningGitDaemon;
let https: Server;
let httpsBase: string;
let ca: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-same-"));
  const src = join(dir, "src");
  await makeTree(src, TREE);
  await sh("sh", [
    "-c",
    `tar -C ${src} -cf ${dir}/ctx.tar . && gzip -c ${dir}/ctx.tar > ${dir}/ctx.tar.gz && zstd -q -c ${dir}/ctx.tar > ${dir}/ctx.tar.zst`,
  ]);
  const tarGz = await readFile(`${dir}/ctx.tar.gz`);
  gcs = await startGcsStandIn();
  gcs.put("bucket", "ctx/context.tar.gz", tarGz);
  daemon = await startGitDaemon();
  const ident = ["-c", "user.name=m", "-c", "user.email=m@example.invalid"];
  await sh("sh", [
    "-c",
    `cp -a ${src} ${dir}/work && cd ${dir}/work && git init -q && git add -A && git ${ident.join(" ")} commit -q -m c && git clone -q --bare . ${daemon.base}/app.git`,
  ]);
  const tls = await makeTestCa(dir);
  ca = await readFile(tls.ca, "utf8");
  https = createServer({ key: await readFile(tls.key), cert: await readFile(tls.cert) }, (_req, res) =>
    res.end(tarGz),
  );
  await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
  httpsBase = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
});
afterAll(async () => {
  https?.close();
  await gcs?.stop();
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Writes the layer `COPY . /` would make from a context (owner 0:0, reproducible times). */
async function copyLayer(ctx: ContextSource): Promise<{ digest: string; diffId: string; blob: string }> {
  const store = await BlobStore.open(join(dir, "store"));
  async function* changes(): AsyncGenerator<Change> {
    for await (const entry of ctx.walk()) yield { kind: "add", entry: { ...entry, uid: 0, gid: 0 } };
  }
  const r = await writeLayer(changes(), store, { compression: "gzip", sourceDateEpoch: 0 });
  return { digest: r.digest, diffId: r.diffId, blob: store.path(r.digest) };
}

describe("every source gives the same COPY layer", () => {
  it("directory, tar, tar.gz, tar.zst, stdin, https, gs:// and git agree, and GNU tar reads the layer", async () => {
    const specs: [string, OpenContextOptions][] = [
      [join(dir, "src"), {}],
      [`tar://${dir}/ctx.tar`, {}],
      [`tar://${dir}/ctx.tar.gz`, {}],
      [`tar://${dir}/ctx.tar.zst`, {}],
      ["tar://stdin", { stdin: createReadStream(`${dir}/ctx.tar.zst`) }],
      [`${httpsBase}/ctx.tar.gz`, { ca }],
      ["gs://bucket/ctx/context.tar.gz", { apiEndpoint: gcs.endpoint }],
      [daemon.url("app.git"), {}],
    ];
    const results: Record<string, string> = {};
    let blob = "";
    for (const [spec, opts] of specs) {
      const ctx = await openContext(spec, opts);
      try {
        const r = await copyLayer(ctx);
        results[spec] = r.diffId;
        blob = r.blob;
      } finally {
        await ctx.close();
      }
    }
    const first = results[join(dir, "src")];
    for (const [spec, diffId] of Object.entries(results))
      expect({ spec, diffId }).toEqual({ spec, diffId: first });
    // the layer as GNU tar sees it: exactly what .dockerignore lets through, written by hand
    const listing = (await sh("tar", ["-tzf", blob])).trim().split("\n");
    expect(listing).toEqual([
      ".dockerignore",
      "Dockerfile",
      "app/",
      "app/abs-link",
      "app/data.json",
      "app/link",
      "app/main.sh",
      "secret/",
      "secret/public.txt",
      "unicode-é.txt",
    ]);
  });
});
