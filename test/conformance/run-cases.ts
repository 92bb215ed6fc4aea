import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CACHE_DIR } from "../harness/base-images.js";
import type { RunningDockerd } from "../harness/dockerd.js";
import { type Builder, buildWithBuildah, buildWithDocker, buildWithMolt, type Outcome } from "./builders.js";
import { type Case, materialise } from "./case.js";

/** Bumped when the builders' invocation or the summary format changes (part of the cache key). */
const HARNESS_VERSION = "2";

/** Reference outcomes are cached here by case content (CI starts empty, a developer's rerun does not). */
export const OUTCOME_CACHE = join(CACHE_DIR, "..", "conformance");

/** A promise pool: `run(job)` shares `n` slots; `run.alone(job)` waits until no job runs and holds them all. */
export interface Pool {
  <T>(job: () => Promise<T>): Promise<T>;
  /** Runs `job` with nothing else of this pool running beside it (ahead of the jobs still waiting). */
  alone<T>(job: () => Promise<T>): Promise<T>;
}

/** A small promise pool: at most `n` jobs at once, in submission order; an `alone` job runs by itself. */
export function pool(n: number): Pool {
  let active = 0;
  let exclusive = false;
  const queue: { alone: boolean; go: () => void }[] = [];
  const pump = () => {
    while (!exclusive && queue.length > 0) {
      const head = queue[0]!;
      if (head.alone ? active > 0 : active >= n) return;
      queue.shift();
      active++;
      exclusive = head.alone;
      head.go();
    }
  };
  const enter = async <T>(alone: boolean, job: () => Promise<T>): Promise<T> => {
    await new Promise<void>((go) => {
      if (alone) queue.unshift({ alone, go });
      else queue.push({ alone, go });
      pump();
    });
    try {
      return await job();
    } finally {
      active--;
      if (alone) exclusive = false;
      pump();
    }
  };
  const run = <T>(job: () => Promise<T>) => enter(false, job);
  return Object.assign(run, { alone: <T>(job: () => Promise<T>) => enter(true, job) });
}

/** Where the suite runs: bases, reference builders, temp space, concurrency. */
export interface SuiteEnv {
  bases: Record<string, string>;
  /** Identity of the base images + tool versions, part of every cache key. */
  identity: string;
  dockerd: RunningDockerd;
  buildahRoot: string;
  work: string;
  tmp: string;
}

/** The three outcomes of a case, with their wall times (ms, 0 for a cache hit). */
export interface CaseOutcomes {
  outcomes: Record<Builder, Outcome>;
  ms: Record<Builder, number>;
}

/** A reference outcome's cache key: the case as the builders see it (golden expectations are not input). */
const caseKey = ({ golden: _golden, ...k }: Case, ref: Builder, identity: string) =>
  createHash("sha256")
    .update(JSON.stringify({ k, ref, identity, HARNESS_VERSION }))
    .digest("hex")
    .slice(0, 24);

async function cached(
  key: string,
  make: () => Promise<Outcome>,
  retry: () => Promise<Outcome>,
): Promise<{ o: Outcome; ms: number }> {
  const file = join(OUTCOME_CACHE, `${key}.json`);
  // CONFORM_CACHE=off rebuilds every reference (as CI's fresh machine does), to time a full run
  if (process.env.CONFORM_CACHE !== "off" && existsSync(file))
    return { o: JSON.parse(await readFile(file, "utf8")) as Outcome, ms: 0 };
  const t = Date.now();
  let o = await make();
  // a reference that fails is asked once more, alone, before its failure is cached: buildah's
  // vfs storage has been seen to fail a commit ("committing the finished image") when two builds
  // finish at once, and an immediate retry beside the same neighbour failed the same way
  if (!o.ok) o = await retry();
  await mkdir(OUTCOME_CACHE, { recursive: true });
  await writeFile(file, JSON.stringify(o));
  return { o, ms: Date.now() - t };
}

/**
 * Starts every case's three builds at once, each builder through its own pool (buildah and
 * docker cached by case content), and returns a promise per case name.
 */
export function startAll(cases: Case[], env: SuiteEnv): Map<string, Promise<CaseOutcomes>> {
  const n = (v: string | undefined, d: number) => Math.max(1, Number(v) || d);
  const pools: Record<Builder, Pool> = {
    molt: pool(n(process.env.CONFORM_MOLT_JOBS, 2)),
    buildah: pool(n(process.env.CONFORM_BUILDAH_JOBS, 2)),
    docker: pool(n(process.env.CONFORM_DOCKER_JOBS, 2)),
  };
  const out = new Map<string, Promise<CaseOutcomes>>();
  for (const k of cases) {
    const ctxOf = async (b: Builder) => {
      // a context per builder: nothing one builder does can leak into another's input
      const ctx = join(env.work, k.name, `ctx-${b}`);
      await rm(ctx, { recursive: true, force: true });
      await materialise(k, ctx, env.bases, join(env.tmp, `${k.name}-${b}`));
      return ctx;
    };
    const make = async (b: Builder): Promise<Outcome> => {
      const ctx = await ctxOf(b);
      const w = join(env.work, k.name, b);
      try {
        if (b === "molt") return await buildWithMolt(k, ctx, w, env.tmp);
        if (b === "buildah") return await buildWithBuildah(k, ctx, w, env.buildahRoot);
        return await buildWithDocker(k, ctx, w, env.dockerd);
      } finally {
        await rm(join(env.work, k.name, `ctx-${b}`), { recursive: true, force: true });
        await rm(w, { recursive: true, force: true });
      }
    };
    const one = async (b: Builder): Promise<{ o: Outcome; ms: number }> => {
      if (b === "molt")
        return pools.molt(async () => {
          const t = Date.now();
          return { o: await make(b), ms: Date.now() - t };
        });
      return cached(
        caseKey(k, b, env.identity),
        () => pools[b](() => make(b)),
        () => pools[b].alone(() => make(b)),
      );
    };
    const all = (async () => {
      const [m, bu, d] = await Promise.all([one("molt"), one("buildah"), one("docker")]);
      return {
        outcomes: { molt: m.o, buildah: bu.o, docker: d.o },
        ms: { molt: m.ms, buildah: bu.ms, docker: d.ms },
      };
    })();
    all.catch(() => {}); // each case's test awaits (and reports) its own promise
    out.set(k.name, all);
  }
  return out;
}
