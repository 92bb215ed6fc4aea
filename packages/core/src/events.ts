import type { Digest } from "@molt/oci";

/**
 * Progress of a build, as a discriminated union on `type`. The library never prints; the CLI
 * (or any embedder) renders these.
 */
export type BuildProgressEvent =
  | { type: "stage"; stage: number; name?: string; base: string }
  | { type: "step"; stage: number; step: number; of: number; instruction: string }
  | { type: "base-image"; reference: string; digest: Digest }
  | { type: "runner"; name: string; limitations: string[] }
  | { type: "layer"; stage: number; step: number; digest: Digest; size: number; entries: number }
  | {
      type: "output";
      kind: "push" | "oci-layout" | "tarball" | "digest-file";
      target: string;
      digest: Digest;
    }
  | {
      type: "log";
      stage: number;
      step: number;
      stream: "stdout" | "stderr";
      /** One line of output without its newline; a very long line arrives in chunks, all but the last `partial`. */
      line: string;
      partial?: boolean;
    }
  | { type: "warning"; message: string; file?: string; line?: number }
  | {
      /** A cacheable step met the cache: taken from it (`hit`), or not, with why (`reason`). */
      type: "cache";
      stage: number;
      step: number;
      /** The step's chained cache key. */
      key: string;
      hit: boolean;
      /** Why the step missed: the input that differs from the nearest entry on its chain. */
      reason?: string;
      /** The store, e.g. `registry host/app/cache`. */
      store?: string;
    };
