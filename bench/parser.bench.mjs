// Dockerfile parser benchmark: generated Dockerfiles of 2k / 20k / 200k instructions (a realistic
// mix: multi-stage FROMs, RUN with continuations, mounts and heredocs, COPY with flags, ENV/ARG/
// LABEL, comments), parsed by molt (syntax tree + typed instructions + stages + warnings) and by
// dockerfile-ast (VS Code's Docker parser: parse + getInstructions + arguments) on the same text in
// the same run. Targets: molt at least 2x faster (ratio <= 0.5), and time linear in size.
// MOLT_BENCH_SCALE (float, default 1) scales the instruction counts. Run `pnpm build` first.
import { parseDockerfile } from "@molt/parser";
import { DockerfileParser } from "dockerfile-ast";
import { best, report, SCALE } from "./lib.mjs";

let seed = 7;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const PKGS = ["curl", "git", "ca-certificates", "build-essential", "python3", "openssl", "jq", "tzdata"];

/** A Dockerfile with about `n` instructions. */
function generate(n) {
  const out = ["# syntax=docker/dockerfile:1", "ARG BASE=debian:bookworm-slim", "ARG VERSION=1.0.0"];
  let count = 2;
  let stage = 0;
  while (count < n) {
    if (count === 2 || rnd() < 0.01) {
      out.push("", `# stage ${stage}`, `FROM --platform=$BUILDPLATFORM \${BASE} AS stage${stage}`);
      stage++;
      count++;
      continue;
    }
    const r = rnd();
    if (r < 0.3) {
      out.push(
        "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\",
        "    apt-get update && \\",
        `    apt-get install -y --no-install-recommends ${pick(PKGS)} ${pick(PKGS)} && \\`,
        "    rm -rf /var/lib/apt/lists/*",
      );
    } else if (r < 0.4) {
      out.push("RUN <<EOF", "set -eux", `echo building \${VERSION}`, "make -j2 all", "EOF");
    } else if (r < 0.6) {
      out.push(`COPY --chown=app:app --chmod=0644 --link src/${count}/ /app/${pick(PKGS)}/`);
    } else if (r < 0.7) {
      out.push(`ENV PATH=/opt/bin:$PATH APP_${count}="value \${VERSION}" LANG=C.UTF-8`);
    } else if (r < 0.78) {
      out.push(`ARG OPT_${count}=default`);
    } else if (r < 0.85) {
      out.push(`LABEL org.opencontainers.image.version="\${VERSION}" build.step="${count}"`);
    } else if (r < 0.9) {
      out.push(`WORKDIR /app/${count}`);
    } else if (r < 0.95) {
      out.push("# a comment between instructions", `EXPOSE ${8000 + (count % 1000)}/tcp`);
    } else {
      out.push(`CMD ["/app/bin/server", "--port", "${8000 + (count % 1000)}"]`);
    }
    count++;
  }
  return `${out.join("\n")}\n`;
}

function parseMolt(text) {
  const df = parseDockerfile(text);
  let n = 0;
  for (const s of df.stages) n += s.instructions.length + 1;
  return n;
}

function parseReference(text) {
  const df = DockerfileParser.parse(text);
  let n = 0;
  for (const i of df.getInstructions()) {
    i.getArguments();
    n++;
  }
  return n;
}

const timeSync = (fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

const sizes = [2_000, 20_000, 200_000].map((n) => Math.max(100, Math.round(n * SCALE)));
// Warm both parsers up (JIT) on a separate text so the smallest size is not measured cold.
const warm = generate(2_000);
for (let i = 0; i < 10; i++) {
  parseMolt(warm);
  parseReference(warm);
}
const perInstruction = [];
for (const n of sizes) {
  const text = generate(n);
  const ours = parseMolt(text);
  const theirs = parseReference(text);
  if (ours < n * 0.95 || theirs < n * 0.95)
    throw new Error(`instruction count mismatch: molt ${ours}, dockerfile-ast ${theirs}`);
  const runs = n >= 200_000 ? 3 : n >= 20_000 ? 7 : 15;
  globalThis.gc?.();
  const molt = await best(runs, async () => timeSync(() => parseMolt(text)));
  globalThis.gc?.();
  const ref = await best(runs, async () => timeSync(() => parseReference(text)));
  perInstruction.push(molt / n);
  const label = n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);
  report(
    `parse ${label} instructions (${(text.length / 1e6).toFixed(1)} MB)`,
    molt,
    "dockerfile-ast",
    ref,
    0.5,
  );
}
const spread = Math.max(...perInstruction) / Math.min(...perInstruction);
console.log(
  `parse linearity: per-instruction time ${perInstruction.map((t) => `${(t * 1e6).toFixed(2)}us`).join(" / ")}, max/min ${spread.toFixed(2)} (target <= 2)${spread <= 2 ? "  OK" : "  MISSED"}`,
);
