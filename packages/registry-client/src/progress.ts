import type { Digest } from "@molt/oci";

/**
 * Byte progress of blob transfers and the retries the client makes. A discriminated union on
 * `type`; new members may be added, so switch with a default branch.
 */
export type RegistryProgressEvent =
  | {
      /** Bytes moved for one blob (pull or push); emitted as data flows. */
      type: "molt:registry:blob-progress";
      direction: "pull" | "push";
      registry: string;
      repository: string;
      digest: Digest;
      /** Bytes transferred so far. */
      transferred: number;
      /** Expected size, when known. */
      total?: number;
    }
  | {
      /** A blob finished: downloaded, uploaded, found present, or mounted from another repository. */
      type: "molt:registry:blob-done";
      direction: "pull" | "push";
      registry: string;
      repository: string;
      digest: Digest;
      size: number;
      result: "downloaded" | "uploaded" | "exists" | "mounted";
    }
  | {
      /** A request failed in a way worth retrying; the client waits `delayMs` and tries again. */
      type: "molt:registry:retry";
      registry: string;
      attempt: number;
      delayMs: number;
      reason: string;
    };

/** The callback shape every long registry operation accepts. */
export type RegistryProgressHandler = (event: RegistryProgressEvent) => void;
