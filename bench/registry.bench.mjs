// Registry push + pull of a 4-layer image (1 GiB × MOLT_BENCH_SCALE, incompressible layers) to a
// local Debian docker-registry: molt's registry client (pushOciLayout / pullOciLayout, run in a
// child process so its peak RSS is its own) beside `skopeo copy` of the same OCI layout in the
// same run, each against its own fresh registry, best of two alternating rounds. Target: molt's throughput >= 0.8 × skopeo's (time
// ratio <= 1.25) and molt's peak RSS < 200 MB.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCALE, startRegistry, timeShell } from "./lib.mjs";

if (process.argv[2] === "--worker") {
  await worker(process.argv[3], process.argv[4], process.argv[5], process.argv[6]);
} else {
  await main();
}

async function worker(mode, host, layout, repo) {
  const { parseReference } = await import("@molt/oci");
  const { RegistryClient, pushOciLayout, pullOciLayout } = await import("@molt/registry-client");
  const client = new RegistryClient({ insecure: [host], noCredentialChain: true, proxy: false });
  const ref = parseReference(`${host}/${repo}:bench`);
  const t0 = process.hrtime.bigint();
  if (mode === "push") await pushOciLayout(client, layout, "bench", ref);
  else await pullOciLayout(client, ref, layout, "bench");
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await client.close();
  process.stdout.write(JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

function runWorker(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, "--worker", ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker ${args[0]} exited ${code}`)),
    );
  });
}

/** Writes an OCI layout with `layers` random layers of `size` bytes each, streaming. */
async function makeLayout(dir, layers, size) {
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const writeBlob = (bytes) => {
    const hex = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layerDescs = [];
  for (let i = 0; i < layers; i++) {
    const tmp = join(blobs, `tmp${i}`);
    const out = createWriteStream(tmp);
    const hash = createHash("sha256");
    for (let done = 0; done < size; ) {
      const chunk = randomBytes(Math.min(4 << 20, size - done));
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise((r) => out.once("drain", r));
      done += chunk.length;
    }
    await new Promise((r) => out.end(r));
    const hex = hash.digest("hex");
    renameSync(tmp, join(blobs, hex));
    layerDescs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${hex}`, size });
  }
  const config = writeBlob(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: layerDescs.map((l) => l.digest) },
      }),
    ),
  );
  const manifest = writeBlob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: layerDescs,
      }),
    ),
  );
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "org.opencontainers.image.ref.name": "bench" },
        },
      ],
    }),
  );
}

async function main() {
  for (const bin of ["docker-registry", "skopeo"]) {
    if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) {
      console.log(`registry: ${bin} not installed: skipped`);
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "molt-bench-registry-"));
  const regs = [];
  try {
    const layerSize = Math.max(1 << 20, Math.round(((1 << 30) * SCALE) / 4));
    const layout = join(dir, "layout");
    await makeLayout(layout, 4, layerSize);
    const total = layerSize * 4;

    // Two rounds, alternating who goes first, each phase after `sync` so neither pays for the
    // other's dirty pages; the best time of each counts. Fresh repositories every round.
    const best = { push: Infinity, pull: Infinity, skopeoPush: Infinity, skopeoPull: Infinity, rss: 0 };
    const sync = () => spawnSync("sync");
    for (let round = 0; round < 2; round++) {
      // Fresh registries (new ports) every round: skopeo's blob-info cache would otherwise
      // turn its second push into cross-repository mounts.
      const ours = await startRegistry(join(dir, `reg-molt${round}`));
      const theirs = await startRegistry(join(dir, `reg-skopeo${round}`));
      regs.push(ours, theirs);
      const phases = {
        push: async () => {
          const r = await runWorker(["push", ours.host, layout, `bench/molt${round}`]);
          best.push = Math.min(best.push, r.seconds);
          best.rss = Math.max(best.rss, r.maxRssMB);
        },
        skopeoPush: async () => {
          best.skopeoPush = Math.min(
            best.skopeoPush,
            timeShell(
              `skopeo copy --quiet --dest-tls-verify=false oci:${layout}:bench docker://${theirs.host}/bench/skopeo${round}:bench`,
            ),
          );
        },
        pull: async () => {
          const out = join(dir, "pull-molt");
          const r = await runWorker(["pull", ours.host, out, `bench/molt${round}`]);
          rmSync(out, { recursive: true, force: true });
          best.pull = Math.min(best.pull, r.seconds);
          best.rss = Math.max(best.rss, r.maxRssMB);
        },
        skopeoPull: async () => {
          const out = join(dir, "pull-skopeo");
          best.skopeoPull = Math.min(
            best.skopeoPull,
            timeShell(
              `skopeo copy --quiet --src-tls-verify=false docker://${theirs.host}/bench/skopeo${round}:bench oci:${out}:bench`,
            ),
          );
          rmSync(out, { recursive: true, force: true });
        },
      };
      const order =
        round === 0
          ? ["push", "skopeoPush", "pull", "skopeoPull"]
          : ["skopeoPush", "push", "skopeoPull", "pull"];
      for (const phase of order) {
        sync();
        await phases[phase]();
      }
      ours.stop();
      theirs.stop();
      rmSync(join(dir, `reg-molt${round}`), { recursive: true, force: true });
      rmSync(join(dir, `reg-skopeo${round}`), { recursive: true, force: true });
    }
    const push = { seconds: best.push, maxRssMB: best.rss };
    const pull = { seconds: best.pull, maxRssMB: best.rss };
    const skopeoPush = best.skopeoPush;
    const skopeoPull = best.skopeoPull;
    const mb = total / 1e6;
    const line = (what, t, ref, rss) => {
      const ratio = ref / t;
      console.log(
        `registry ${what} 4 layers/${mb.toFixed(0)}MB: molt ${t.toFixed(2)}s (${(mb / t).toFixed(0)} MB/s, peak RSS ${rss.toFixed(0)} MB)  skopeo copy ${ref.toFixed(2)}s  throughput ratio ${ratio.toFixed(2)} (target >= 0.8)${ratio >= 0.8 && rss < 200 ? "  OK" : "  MISSED"}`,
      );
    };
    line("push", push.seconds, skopeoPush, push.maxRssMB);
    line("pull", pull.seconds, skopeoPull, pull.maxRssMB);
    line(
      "push+pull",
      push.seconds + pull.seconds,
      skopeoPush + skopeoPull,
      Math.max(push.maxRssMB, pull.maxRssMB),
    );
  } finally {
    for (const r of regs) r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
