/**
 * How registry requests are retried (`BuildOptions.retry`): connection errors, timeouts, 408,
 * 429 and 5xx are tried again with exponential backoff and jitter, honouring `Retry-After`.
 *
 * @example
 * ```ts
 * await build({ context: ".", destinations: ["reg.example/app:1"], retry: { attempts: 3, maxDelayMs: 2000 } });
 * ```
 */
export interface RetrySettings {
  /**
   * Tries of one request in all, the first included (default 5: the first try and 4 retries).
   * `1` never retries. (kaniko's `--push-retry N` / `--image-download-retry N` mean `N + 1`.)
   */
  attempts?: number;
  /** First backoff delay in ms (default 250); doubles each try, with jitter. */
  minDelayMs?: number;
  /** Longest backoff delay in ms (default 8000). */
  maxDelayMs?: number;
}

/** How long registry requests may take (`BuildOptions.timeouts`). `0` turns a limit off. */
export interface TimeoutSettings {
  /** A registry request that moves no bytes for this long fails, in ms (default 30000). */
  idleMs?: number;
  /** Cap of one registry operation, its retries included, in ms (default 30 min). */
  operationMs?: number;
}
