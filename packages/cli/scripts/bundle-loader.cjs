#!/usr/bin/env node
// dist/bundle/bin.js, the entry point of the bundled CLI (written by scripts/bundle.mjs). It loads
// the bundle's CommonJS chunks itself, compiling each from a V8 code cache (dist/bundle/
// code-cache-FLAGS.bin, made by scripts/code-cache.cjs at `pnpm build`) when the cache was made
// for exactly this chunk (its SHA-256) by exactly this Node (version, arch, V8) with the same node
// flags (V8 rejects a cache made under other flags; FLAGS is a hash of node's command-line flags
// and NODE_OPTIONS, so bin/molt's `--max-semi-space-size=2` and a bare `node bin.js` each find
// their own): the chunks' functions then come out of the cache instead of being parsed and
// compiled again at every start (issue 16).
// Each chunk's cached data is checked against its SHA-256 before V8 sees it (V8 checks its
// version, flags and the source's length, but not the data: corrupt data crashes node). A
// missing, stale, foreign or corrupt cache is ignored: the chunk is compiled from its source, as
// without a cache. Never fails on the cache. MOLT_CODE_CACHE=0 turns it off (compile from source).
"use strict";
const { readFileSync } = require("node:fs");
const { createHash } = require("node:crypto");
const { createRequire } = require("node:module");
const { join } = require("node:path");
const vm = require("node:vm");

const MAGIC = "molt-code-cache-1";
// The chunk's source sits on the wrapper's second line: stack traces keep its line and column.
const WRAP_HEAD = "(function (exports, require, module, __filename, __dirname) {\n";
const WRAP_TAIL = "\n})";

/** What a code cache must have been made by: this Node binary's version, arch and V8. */
function runtimeId() {
  return `${process.version} ${process.arch} v8 ${process.versions.v8}`;
}

/** The node flags a code cache is made and used under: command-line flags and NODE_OPTIONS. */
function flagsId() {
  return [...process.execArgv, `NODE_OPTIONS=${process.env.NODE_OPTIONS ?? ""}`].join("\0");
}

/** The code cache file for this process's flags: `code-cache-<12 hex of their SHA-256>.bin`. */
function cacheFileName() {
  return `code-cache-${createHash("sha256").update(flagsId()).digest("hex").slice(0, 12)}.bin`;
}

/** SHA-256 (hex) of a chunk's source or cached data. */
function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Compiles a chunk's source as a CommonJS function body, from `cachedData` when given. */
function compileChunk(filename, source, cachedData) {
  // A `#!` line (the entry chunk's) becomes a comment of the same length.
  const body = source.startsWith("#!") ? `//${source.slice(2)}` : source;
  return new vm.Script(WRAP_HEAD + body + WRAP_TAIL, {
    filename,
    lineOffset: -1,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

/**
 * Reads dir/{@link cacheFileName}: one JSON line ({ magic, runtime, flags, chunks: { name:
 * [source SHA-256, offset, length, data SHA-256] } }) and then the chunks' cached data. Returns
 * name → { source, sha256, data } (the hashes, unchecked here), empty when the file is missing,
 * unreadable, malformed or made by another Node or under other flags.
 */
function readCodeCache(dir) {
  const found = new Map();
  let buf;
  try {
    buf = readFileSync(join(dir, cacheFileName()));
  } catch {
    return found;
  }
  try {
    const nl = buf.indexOf(10);
    if (nl < 0) return found;
    const head = JSON.parse(buf.subarray(0, nl).toString("utf8"));
    if (head?.magic !== MAGIC || head.runtime !== runtimeId() || head.flags !== flagsId()) return found;
    if (typeof head.chunks !== "object" || head.chunks === null) return found;
    for (const [name, entry] of Object.entries(head.chunks)) {
      if (!Array.isArray(entry) || entry.length !== 4) continue;
      const [source, offset, length, sha] = entry;
      const start = nl + 1 + offset;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0)
        continue;
      if (start + length > buf.length) continue;
      found.set(name, { source, sha256: sha, data: buf.subarray(start, start + length) });
    }
  } catch {
    found.clear();
  }
  return found;
}

/**
 * A loader of the bundle's chunks in `dir`: `load(name)` runs a chunk once (CommonJS semantics:
 * `exports`, `require`, `module`, `__filename`, `__dirname`) and returns its exports. Relative
 * requires load sibling chunks through it; everything else goes to Node's `require`.
 */
function createLoader(dir, { cache = readCodeCache(dir), keepScripts = false } = {}) {
  const modules = new Map();
  const scripts = new Map();
  const stats = { cached: 0, rejected: 0, compiled: 0 };
  const nodeRequire = createRequire(join(dir, "bin.js"));
  function load(name) {
    const seen = modules.get(name);
    if (seen) return seen.exports;
    const filename = join(dir, name);
    const raw = readFileSync(filename);
    const source = raw.toString("utf8");
    const hit = cache.get(name);
    const cachedData =
      hit && hit.source === sha256(raw) && hit.sha256 === sha256(hit.data) ? hit.data : undefined;
    const script = compileChunk(filename, source, cachedData);
    if (cachedData === undefined) stats.compiled++;
    else if (script.cachedDataRejected) stats.rejected++;
    else stats.cached++;
    if (keepScripts) scripts.set(name, { script, raw });
    const module = { exports: {}, filename, id: filename, loaded: false };
    modules.set(name, module);
    const require = (spec) =>
      spec.startsWith("./") && !spec.includes("/", 2) ? load(spec.slice(2)) : nodeRequire(spec);
    require.resolve = nodeRequire.resolve;
    require.cache = nodeRequire.cache;
    script.runInThisContext()(module.exports, require, module, filename, dir);
    module.loaded = true;
    return module.exports;
  }
  return { load, scripts, stats };
}

module.exports = {
  MAGIC,
  runtimeId,
  flagsId,
  cacheFileName,
  sha256,
  compileChunk,
  readCodeCache,
  createLoader,
};

/** Whether `DEBUG` enables namespace `ns`, as the `debug` package reads it (`*` wildcards, `-` to skip). */
function debugEnabled(ns) {
  const pats = (process.env.DEBUG ?? "").split(/[\s,]+/).filter(Boolean);
  const match = (p) =>
    new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*?")}$`).test(ns);
  return (
    !pats.some((p) => p.startsWith("-") && match(p.slice(1))) &&
    pats.some((p) => !p.startsWith("-") && match(p))
  );
}

/** Runs the CLI (the bundle's entry chunk, cli.js) with the code cache of this process's flags. */
function run() {
  const loader = createLoader(__dirname, process.env.MOLT_CODE_CACHE === "0" ? { cache: new Map() } : {});
  if (debugEnabled("molt:code-cache"))
    process.on("exit", () => {
      const { cached, rejected, compiled } = loader.stats;
      process.stderr.write(
        `molt:code-cache ${cacheFileName()}: ${cached} chunks from the cache, ${rejected} rejected by V8, ${compiled} compiled\n`,
      );
    });
  loader.load("cli.js");
}

module.exports.run = run;
if (require.main === module) run();
