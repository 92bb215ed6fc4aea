import { setTimeout as sleep } from "node:timers/promises";
import { RegistryError } from "../errors.js";
import type { RetryOptions } from "../options.js";

/** The retry policy with defaults filled in. */
export interface RetryPolicy {
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

/** Fills in the defaults of {@link RetryOptions}. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    retries: options.retries ?? 4,
    minDelayMs: options.minDelayMs ?? 250,
    maxDelayMs: options.maxDelayMs ?? 8_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  };
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date. Returns milliseconds, or
 * `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Backoff before retry number `attempt` (1-based): exponential with full jitter in its upper half. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * Runs `fn` until it succeeds, retrying a {@link RegistryError} marked `retryable` with backoff
 * (honouring `retryAfterMs` when the registry sent `Retry-After`). After the last try the error
 * is rethrown with the number of attempts in its message. Aborts promptly on `signal`.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  onRetry: (attempt: number, delayMs: number, error: RegistryError) => void,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      signal?.throwIfAborted();
      if (!(e instanceof RegistryError) || !e.retryable) throw e;
      if (attempt >= policy.retries) {
        if (attempt > 0) e.message += ` (gave up after ${attempt + 1} attempts)`;
        throw e;
      }
      let delay = backoffDelay(policy, attempt + 1);
      if (e.retryAfterMs !== undefined) {
        if (e.retryAfterMs > policy.maxRetryAfterMs) {
          e.message += ` (registry asked to retry after ${Math.round(e.retryAfterMs / 1000)} s)`;
          throw e;
        }
        delay = Math.max(delay, e.retryAfterMs);
      }
      onRetry(attempt + 1, delay, e);
      await sleep(delay, undefined, signal ? { signal } : undefined);
    }
  }
}
