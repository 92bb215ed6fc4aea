import { describe, expect, test } from "vitest";
import { pool } from "./run-cases.js";

// The conformance suite's job pool: a reference retried after a failure runs alone (buildah's
// shared vfs storage failed a commit when two builds finished at once, and again on a retry
// made beside the same neighbour).
const tick = () => new Promise<void>((r) => setImmediate(r));

describe("conformance job pool", () => {
  test("runs at most n jobs at once", async () => {
    const p = pool(2);
    let now = 0;
    let most = 0;
    const job = async () => {
      most = Math.max(most, ++now);
      await tick();
      now--;
    };
    await Promise.all([p(job), p(job), p(job), p(job), p(job)]);
    expect(most).toBe(2);
  });

  test("an alone job waits for the running ones, runs by itself, and goes before the waiting ones", async () => {
    const p = pool(2);
    const log: string[] = [];
    let now = 0;
    const job = (name: string) => async () => {
      now++;
      log.push(`${name}+${now}`);
      await tick();
      await tick();
      now--;
      log.push(`${name}-`);
    };
    const all = [p(job("a")), p(job("b")), p(job("c"))];
    await tick(); // a and b run, c waits
    all.push(p.alone(job("x")));
    await Promise.all(all);
    // x starts only after a and b ended, with nothing beside it (+1), and before c
    const x = log.indexOf("x+1");
    expect(x).toBeGreaterThan(log.indexOf("a-"));
    expect(x).toBeGreaterThan(log.indexOf("b-"));
    expect(log.indexOf("x-")).toBeLessThan(log.indexOf("c+1"));
  });
});
