#!/usr/bin/env node
// Makes the build context of deploy/executor/Dockerfile in the directory given (default
// .cache/executor-context): the molt CLI as `pnpm build` bundled it (packages/cli/dist/bundle:
// a few CommonJS files, no node_modules in the image; the GCS and S3 clients stay in chunks
// loaded only when used) with a V8 code cache made here by the Node the image ships, under the
// flags the image runs it with (none), a Node 20 binary (the one running this script, or
// $MOLT_NODE_BINARY; stripped), collect.sh and busybox-static for the :debug variant.
// Run it after `pnpm build`.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { trainCodeCache } from "../../packages/cli/scripts/train-code-cache.mjs";

const here = dirname(new URL(import.meta.url).pathname);
const repo = resolve(here, "..", "..");
const out = resolve(process.argv[2] ?? join(repo, ".cache", "executor-context"));
const bundle = join(repo, "packages", "cli", "dist", "bundle");
if (!existsSync(join(bundle, "bin.js"))) throw new Error(`${bundle} is missing: run pnpm build first`);

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "molt"), { recursive: true });
// The bundle without the code caches pnpm build made for this machine's node and bin/molt's flags.
cpSync(bundle, join(out, "molt", "dist"), {
  recursive: true,
  filter: (src) => !/code-cache-[0-9a-f]+\.bin(\.tmp)?$/.test(src),
});
const pkg = JSON.parse(readFileSync(join(repo, "packages", "cli", "package.json"), "utf8"));
writeFileSync(
  join(out, "molt", "package.json"),
  `${JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", license: pkg.license }, null, 2)}\n`,
);
// The entry point the image puts on PATH: node with the bundle (no /usr/bin/env lookup needed).
// CommonJS: it runs the bundle's loader (dist/bin.js), which reads the code cache made below.
writeFileSync(join(out, "molt-bin"), '#!/usr/local/bin/node\nrequire("/opt/molt/dist/bin.js").run();\n');
chmodSync(join(out, "molt-bin"), 0o755);
const node = process.env.MOLT_NODE_BINARY ?? process.execPath;
const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
if (!/^v20\./.test(version)) throw new Error(`${node} is Node ${version}; the executor image ships Node 20`);
// Debug sections are no use in the image: strip them when binutils is here (86 MB instead of 99).
const stripped = spawnSync("strip", ["-o", join(out, "node"), node], { stdio: "ignore" });
if (stripped.status !== 0) copyFileSync(node, join(out, "node"));
chmodSync(join(out, "node"), 0o755);
// The code cache, by the Node binary the image ships (UPX packs the same code; the loader checks
// the version and V8 rejects other flags) under no flags, as molt-bin runs it; as root, trained
// with a RUN in a private mount namespace (scripts/train-code-cache.mjs).
trainCodeCache({ dir: join(out, "molt", "dist"), node });
// busybox-static for the :debug variant (Dockerfile.debug).
if (existsSync("/bin/busybox")) copyFileSync("/bin/busybox", join(out, "busybox"));
copyFileSync(join(here, "collect.sh"), join(out, "collect.sh"));
copyFileSync(join(here, "Dockerfile"), join(out, "Dockerfile"));
copyFileSync(join(here, "Dockerfile.debug"), join(out, "Dockerfile.debug"));
console.log(out);
