#!/usr/bin/env node
// Makes BUNDLE_DIR/code-cache-FLAGS.bin (FLAGS: a hash of this node's flags and NODE_OPTIONS), the V8 code cache dist/bundle/bin.js compiles the bundle's
// chunks from (scripts/bundle-loader.cjs; issue 16):
//   node [the flags bin/molt runs node with] code-cache.cjs BUNDLE_DIR [CLI ARGS...]
// It runs the CLI once with CLI ARGS (default: the training build of trainingArgs() below, outside
// any mount namespace) in this process, then serialises each chunk's compiled code: V8 includes every
// function compiled so far, so what that run executed loads compiled at the next start. The
// chunks that run did not load are compiled (top level only) and cached too. Run it with the
// Node binary and the V8 flags that will load the cache: another Node's cache is ignored at
// load (the header names the Node that made it), and V8 rejects a cache made with other flags.
"use strict";
const {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} = require("node:fs");
const { tmpdir } = require("node:os");
const { join, resolve } = require("node:path");

const [dirArg, ...cliArgs] = process.argv.slice(2);
if (!dirArg) throw new Error("usage: code-cache.cjs BUNDLE_DIR [CLI ARGS...]");
const dir = resolve(dirArg);
const { MAGIC, cacheFileName, compileChunk, createLoader, flagsId, runtimeId, sha256 } = require(
  join(dir, "bin.js"),
);
const loader = createLoader(dir, { cache: new Map(), keepScripts: true });
let work;

/**
 * The default training build: a two-stage build whose base comes from an in-memory registry in
 * this process (scripts/training-registry.cjs) and whose image is pushed back to it, with COPY
 * of a few files from the context and from the first stage, and, as root in a private mount
 * namespace (bundle.mjs runs this script through `unshare --mount` where it can), a RUN of the
 * base's static `/bin/true`. A `FROM scratch` build compiled half of what a real build runs:
 * with the pull, COPY, layer writing and push compiled into the cache, a small build (busybox,
 * 3 RUN, COPY 20 files) took 36 ms less CPU under load, and with RUN too, more (issue 16).
 */
async function trainingArgs() {
  const { startTrainingRegistry } = require("./training-registry.cjs");
  const registry = await startTrainingRegistry();
  work = mkdtempSync(join(tmpdir(), "molt-code-cache-"));
  const ctx = join(work, "ctx");
  mkdirSync(join(ctx, "app"), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(join(ctx, "app", `f${i}.txt`), `file ${i}\n`.repeat(40));
  // Held by bundle.mjs's `unshare`: RUN's overlay mounts die with this process's namespace.
  const run =
    registry.canRun && process.geteuid?.() === 0 && process.env.MOLT_MOUNT_NAMESPACE_HELD_BY === "exec";
  writeFileSync(
    join(ctx, "Dockerfile"),
    `FROM ${registry.base} AS first\nCOPY app /src/\nFROM ${registry.base}\n` +
      (run ? 'RUN ["/bin/true"]\n' : "") +
      `COPY app /app/\nCOPY --from=first /src /copied\nENV A=1\nCMD ["sh"]\n`,
  );
  if (!run) process.env.MOLT_MOUNT_NAMESPACE = "0";
  // Nothing of the machine's registry set-up applies to the training registry: no docker
  // config.json (a credsStore would run a helper for it), no kaniko mirror or registry map.
  process.env.DOCKER_CONFIG = join(work, "docker-config");
  for (const k of Object.keys(process.env)) if (k.startsWith("KANIKO_")) delete process.env[k];
  return [
    "build",
    "-c",
    ctx,
    "-d",
    `${registry.host}/train/out:1`,
    "--insecure",
    "--insecure-pull",
    "--progress=plain",
  ];
}

/**
 * The fallback training build, `FROM scratch` + ENV with no registry (MOLT_CODE_CACHE_TRAINING=
 * scratch; train-code-cache.mjs's last try, where a loopback registry cannot be served).
 */
function scratchArgs() {
  work = mkdtempSync(join(tmpdir(), "molt-code-cache-"));
  mkdirSync(join(work, "ctx"));
  writeFileSync(join(work, "ctx", "Dockerfile"), "FROM scratch\nENV A=1\n");
  process.env.MOLT_MOUNT_NAMESPACE = "0";
  return ["build", "-c", join(work, "ctx"), "--no-push", "--progress=plain"];
}

const argsReady =
  cliArgs.length > 0
    ? Promise.resolve(cliArgs)
    : process.env.MOLT_CODE_CACHE_TRAINING === "scratch"
      ? Promise.resolve(scratchArgs())
      : trainingArgs();
let args = cliArgs;
argsReady.then((a) => {
  args = a;
  process.argv = [process.argv[0], join(dir, "bin.js"), ...args];
  loader.load("cli.js");
});

let written = false;
process.on("beforeExit", () => {
  if (written) return;
  written = true;
  if (work) rmSync(work, { recursive: true, force: true });
  if (process.exitCode !== undefined && process.exitCode !== 0)
    throw new Error(`code cache: the training run (molt ${args.join(" ")}) exited ${process.exitCode}`);
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".js") || name === "bin.js" || loader.scripts.has(name)) continue;
    const raw = readFileSync(join(dir, name));
    loader.scripts.set(name, { script: compileChunk(join(dir, name), raw.toString("utf8")), raw });
  }
  const chunks = {};
  const parts = [];
  let offset = 0;
  for (const [name, { script, raw }] of [...loader.scripts].sort(([a], [b]) => a.localeCompare(b))) {
    const data = script.createCachedData();
    chunks[name] = [sha256(raw), offset, data.length, sha256(data)];
    parts.push(data);
    offset += data.length;
  }
  const head = Buffer.from(
    `${JSON.stringify({ magic: MAGIC, runtime: runtimeId(), flags: flagsId(), chunks })}\n`,
  );
  const out = join(dir, cacheFileName());
  writeFileSync(`${out}.tmp`, Buffer.concat([head, ...parts]));
  renameSync(`${out}.tmp`, out);
  process.stderr.write(`code cache: ${Object.keys(chunks).length} chunks, ${offset} bytes -> ${out}\n`);
});
