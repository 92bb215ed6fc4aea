import { describe, expect, test } from "vitest";
import { StageGraphError, scheduleStages } from "../src/stage/schedule.js";

/** A stage the test finishes by hand, recording when it started and whether it saw an abort. */
interface Gate {
  started: boolean;
  aborted: boolean;
  finish(value?: string): void;
  fail(error: unknown): void;
}

/** Drives `scheduleStages` with gates; the log records `start N` / `end N` in order. */
function harness() {
  const log: string[] = [];
  const gates = new Map<number, Gate>();
  const startedWaiters: (() => void)[] = [];
  const work = (index: number, { signal }: { signal: AbortSignal }) =>
    new Promise<string>((resolve, reject) => {
      const gate: Gate = {
        started: true,
        aborted: false,
        finish: (v = `r${index}`) => {
          log.push(`end ${index}`);
          resolve(v);
        },
        fail: (e) => {
          log.push(`fail ${index}`);
          reject(e);
        },
      };
      signal.addEventListener("abort", () => {
        gate.aborted = true;
        log.push(`abort ${index}`);
        // A well-behaved stage stops promptly, cleaning up first.
        setImmediate(() => {
          log.push(`cleaned ${index}`);
          reject(signal.reason);
        });
      });
      gates.set(index, gate);
      log.push(`start ${index}`);
      for (const w of startedWaiters.splice(0)) w();
    });
  /** Resolves once the given stages have all started. */
  const started = async (...indexes: number[]) => {
    while (!indexes.every((i) => gates.has(i))) await new Promise<void>((r) => startedWaiters.push(r));
  };
  const settle = () => new Promise((r) => setImmediate(r));
  return { log, gates, work, started, settle };
}

const g = (index: number, ...dependsOn: number[]) => ({ index, dependsOn });

describe("scheduleStages", () => {
  test("jobs 1 runs the stages one after another, in the order given", async () => {
    const h = harness();
    const done = scheduleStages([g(0), g(1), g(2, 0, 1)], h.work, { jobs: 1 });
    for (const i of [0, 1, 2]) {
      await h.started(i);
      await h.settle();
      expect(h.gates.size).toBe(i + 1); // nothing else started while this one runs
      h.gates.get(i)!.finish();
    }
    expect([...(await done).entries()]).toEqual([
      [0, "r0"],
      [1, "r1"],
      [2, "r2"],
    ]);
    expect(h.log).toEqual(["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
  });

  test("independent stages run together; a stage waits for its own dependencies only", async () => {
    const h = harness();
    // 3 needs 0 only; 4 needs everything.
    const done = scheduleStages([g(0), g(1), g(2), g(3, 0), g(4, 0, 1, 2, 3)], h.work, { jobs: 4 });
    await h.started(0, 1, 2);
    expect(h.gates.has(3)).toBe(false);
    h.gates.get(0)!.finish();
    await h.started(3); // while 1 and 2 still run
    expect(h.log.slice(0, 5)).toEqual(["start 0", "start 1", "start 2", "end 0", "start 3"]);
    h.gates.get(3)!.finish();
    h.gates.get(1)!.finish();
    await h.settle();
    expect(h.gates.has(4)).toBe(false);
    h.gates.get(2)!.finish();
    await h.started(4);
    h.gates.get(4)!.finish();
    expect((await done).size).toBe(5);
  });

  test("never more than `jobs` stages at once; waiting stages start in the order given", async () => {
    const h = harness();
    const done = scheduleStages([g(0), g(1), g(2), g(3)], h.work, { jobs: 2 });
    await h.started(0, 1);
    await h.settle();
    expect(h.gates.size).toBe(2);
    h.gates.get(1)!.finish();
    await h.started(2);
    await h.settle();
    expect(h.gates.has(3)).toBe(false);
    h.gates.get(0)!.finish();
    await h.started(3);
    h.gates.get(2)!.finish();
    h.gates.get(3)!.finish();
    await done;
    expect(h.log.filter((l) => l.startsWith("start"))).toEqual(["start 0", "start 1", "start 2", "start 3"]);
  });

  test("the first failure aborts the running siblings, waits for them, and is what rejects; dependents never start", async () => {
    const h = harness();
    const boom = new Error("stage 1 failed");
    const done = scheduleStages([g(0), g(1), g(2), g(3, 1)], h.work, { jobs: 4 });
    await h.started(0, 1, 2);
    h.gates.get(1)!.fail(boom);
    await expect(done).rejects.toBe(boom);
    // Both siblings were told and had cleaned up before the rejection arrived.
    expect(h.gates.get(0)!.aborted).toBe(true);
    expect(h.gates.get(2)!.aborted).toBe(true);
    expect(h.log).toContain("cleaned 0");
    expect(h.log).toContain("cleaned 2");
    expect(h.gates.has(3)).toBe(false);
  });

  test("aborting the build's signal stops every stage and rejects with its reason", async () => {
    const h = harness();
    const user = new AbortController();
    const done = scheduleStages([g(0), g(1), g(2, 0)], h.work, { jobs: 2, signal: user.signal });
    await h.started(0, 1);
    const reason = new Error("interrupted");
    user.abort(reason);
    await expect(done).rejects.toBe(reason);
    expect(h.gates.get(0)!.aborted && h.gates.get(1)!.aborted).toBe(true);
    expect(h.gates.has(2)).toBe(false);
  });

  test("a dependency outside the graph, or a cycle, is a typed error before anything runs", async () => {
    const h = harness();
    await expect(scheduleStages([g(0, 5)], h.work, { jobs: 2 })).rejects.toBeInstanceOf(StageGraphError);
    await expect(scheduleStages([g(0, 1), g(1, 0)], h.work, { jobs: 2 })).rejects.toMatchObject({
      code: "MOLT_STAGE_GRAPH",
    });
    expect(h.gates.size).toBe(0);
  });

  test("a stage that throws synchronously fails the graph like a rejection", async () => {
    const err = new Error("sync");
    await expect(
      scheduleStages(
        [g(0)],
        () => {
          throw err;
        },
        { jobs: 1 },
      ),
    ).rejects.toBe(err);
  });

  test("a stage starts before the stages it only uses, waits for one when it asks, and holds no job meanwhile", async () => {
    const log: string[] = [];
    const release = new Map<number, () => void>();
    const gate = (index: number) =>
      new Promise<void>((r) => {
        log.push(`start ${index}`);
        release.set(index, r);
      });
    const settle = () => new Promise((r) => setImmediate(r));
    // jobs 1, and stage 1 (using 0) is offered first: it must give its job to 0 to get anywhere.
    const done = scheduleStages(
      [
        { index: 1, dependsOn: [], uses: [0] },
        { index: 0, dependsOn: [] },
      ],
      async (index, slot) => {
        if (index === 1) {
          log.push("1 waits for 0");
          await slot.waitFor(0);
          log.push("1 resumes");
          return "r1";
        }
        await gate(index);
        log.push(`end ${index}`);
        return "r0";
      },
      { jobs: 1 },
    );
    await settle();
    expect(log).toEqual(["1 waits for 0", "start 0"]);
    release.get(0)!();
    expect([...(await done).entries()].sort()).toEqual([
      [0, "r0"],
      [1, "r1"],
    ]);
    expect(log).toEqual(["1 waits for 0", "start 0", "end 0", "1 resumes"]);
  });

  test("a stage resuming after a wait gets the next free job before a new stage starts", async () => {
    const log: string[] = [];
    const release = new Map<number, () => void>();
    const tick = () => new Promise((r) => setImmediate(r));
    const done = scheduleStages(
      [
        { index: 0, dependsOn: [] },
        { index: 1, dependsOn: [], uses: [0] },
        { index: 2, dependsOn: [] },
        { index: 3, dependsOn: [] },
      ],
      async (index, slot) => {
        log.push(`start ${index}`);
        if (index === 1) {
          await slot.waitFor(0);
          log.push("1 resumes");
        }
        await new Promise<void>((r) => release.set(index, r));
        log.push(`end ${index}`);
      },
      { jobs: 2 },
    );
    await tick();
    // 1 gave its job to 2 while it waits for 0.
    expect(log).toEqual(["start 0", "start 1", "start 2"]);
    release.get(0)!();
    await tick();
    // The job 0 gave back goes to 1, not to the new stage 3.
    expect(log).toEqual(["start 0", "start 1", "start 2", "end 0", "1 resumes"]);
    release.get(2)!();
    await tick();
    expect(log.slice(5)).toEqual(["end 2", "start 3"]);
    release.get(1)!();
    release.get(3)!();
    await done;
  });

  test("when the stage waited for fails, the wait rejects with that failure after the signal is aborted", async () => {
    const boom = new Error("source failed");
    let fail!: (e: unknown) => void;
    let seen: { error: unknown; aborted: boolean } | undefined;
    const done = scheduleStages(
      [
        { index: 0, dependsOn: [] },
        { index: 1, dependsOn: [], uses: [0] },
        { index: 2, dependsOn: [0] },
      ],
      async (index, slot) => {
        if (index === 0) return new Promise<void>((_r, rej) => (fail = rej));
        if (index === 2) throw new Error("never started");
        await slot.waitFor(0).catch((error: unknown) => {
          seen = { error, aborted: slot.signal.aborted };
          throw error;
        });
      },
      { jobs: 4 },
    );
    await new Promise((r) => setImmediate(r));
    fail(boom);
    await expect(done).rejects.toBe(boom);
    expect(seen).toEqual({ error: boom, aborted: true });
  });

  test("waiting for a stage that is not a dependency, or a cycle through uses, is a typed error", async () => {
    await expect(
      scheduleStages(
        [
          { index: 0, dependsOn: [] },
          { index: 1, dependsOn: [] },
        ],
        async (i, slot) => {
          if (i === 1) await slot.waitFor(0);
        },
        { jobs: 2 },
      ),
    ).rejects.toMatchObject({ code: "MOLT_STAGE_GRAPH" });
    let ran = false;
    await expect(
      scheduleStages(
        [
          { index: 0, dependsOn: [], uses: [1] },
          { index: 1, dependsOn: [], uses: [0] },
        ],
        async () => {
          ran = true;
        },
        { jobs: 2 },
      ),
    ).rejects.toMatchObject({ code: "MOLT_STAGE_GRAPH" });
    expect(ran).toBe(false);
  });
});
