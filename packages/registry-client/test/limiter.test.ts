import { describe, expect, it } from "vitest";
import { Limiter } from "../src/limiter.js";

describe("Limiter (per-registry concurrency)", () => {
  it("never lets more than the limit run, and serves waiters in order", async () => {
    const l = new Limiter(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    const jobs = [0, 1, 2, 3, 4].map((i) =>
      l.run(async () => {
        active++;
        peak = Math.max(peak, active);
        order.push(i);
        await new Promise<void>((r) => gates.push(r));
        active--;
      }),
    );
    while (order.length < 5) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    for (const g of gates) g();
    await Promise.all(jobs);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it("a waiter whose signal aborts leaves the queue with the reason", async () => {
    const l = new Limiter(1);
    const release = await l.acquire();
    const ac = new AbortController();
    const waiting = l.acquire(ac.signal);
    ac.abort(new Error("stop waiting"));
    await expect(waiting).rejects.toThrow("stop waiting");
    release();
    const again = await l.acquire();
    again();
  });
});
