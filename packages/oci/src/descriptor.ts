import type { Digest } from "./digest.js";
import type { MediaTypeName } from "./media-types.js";
import type { Platform } from "./platform.js";

/** An OCI content descriptor: what a blob is, how big, and its digest. */
export interface Descriptor {
  mediaType: MediaTypeName;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}
