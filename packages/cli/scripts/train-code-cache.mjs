// Makes a bundle's V8 code cache for one set of node flags: runs scripts/code-cache.cjs (the
// training build) with that node and those flags. As root, where a private mount namespace can
// be made, it runs through `unshare --mount` (as bin/molt runs a build), where the training build
// RUNs a command too, so the RUN path is compiled into the cache; if that fails, it is made again
// without RUN, outside, and if that fails too, on a FROM scratch build (no registry; issue 16). Used by scripts/bundle.mjs and deploy/executor/make-context.mjs.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const codeCacheScript = join(import.meta.dirname, "code-cache.cjs");

/** Whether this process is root and `unshare --mount` works here. */
function canUnshare() {
  return (
    process.geteuid?.() === 0 &&
    spawnSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" }).status === 0
  );
}

/**
 * Runs the training build for bundle dir `dir` with node binary `node` and node flags `flags`;
 * throws (with its stderr) when it fails even without RUN.
 */
export function trainCodeCache({ dir, node = process.execPath, flags = [] }) {
  const train = (inNamespace, scratch = false) => {
    const cmd = [node, ...flags, codeCacheScript, dir];
    const env = { ...process.env, DEBUG: "", NODE_OPTIONS: "" };
    delete env.MOLT_MOUNT_NAMESPACE_HELD_BY;
    delete env.MOLT_CODE_CACHE_TRAINING;
    if (inNamespace) env.MOLT_MOUNT_NAMESPACE_HELD_BY = "exec";
    if (scratch) env.MOLT_CODE_CACHE_TRAINING = "scratch";
    const [file, ...args] = inNamespace
      ? ["unshare", "--mount", "--propagation", "private", "--", ...cmd]
      : cmd;
    // stdout (the training build's digest) is of no use here; its stderr is shown on failure.
    return spawnSync(file, args, { env, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  };
  let r = canUnshare() ? train(true) : undefined;
  if (r && r.status !== 0)
    process.stderr.write(
      `code cache: the training build with RUN failed (exit ${r.status}); again without RUN\n`,
    );
  if (r?.status !== 0) r = train(false);
  if (r.status !== 0) {
    // No registry on loopback here (a sandbox without it?): the FROM scratch training of before.
    process.stderr.write(
      `code cache: the training build against its registry failed (exit ${r.status}): ${r.stderr.slice(-2000)}\n` +
        "code cache: trained on FROM scratch instead\n",
    );
    r = train(false, true);
  }
  if (r.status !== 0) throw new Error(`code cache (${flags.join(" ")}): exit ${r.status}: ${r.stderr}`);
}
