import type { Descriptor } from "./descriptor.js";
import { InvalidDocumentError } from "./errors.js";
import { isIndexType, isManifestType, type MediaTypeName } from "./media-types.js";

/** An image manifest (OCI or Docker schema 2 — the same JSON shape). */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: MediaTypeName;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index or Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: MediaTypeName;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** Either kind of manifest document. */
export type AnyManifest = Manifest | ImageIndex;

/** True when the document is an index / manifest list. */
export function isIndex(doc: AnyManifest): doc is ImageIndex {
  return Array.isArray((doc as ImageIndex).manifests);
}

/**
 * Parses manifest bytes, deciding between image manifest and index by the `mediaType` field or
 * the content-type the registry gave, and checking the fields every consumer relies on.
 * @throws {@link InvalidDocumentError} on malformed JSON or a missing required field.
 */
export function parseManifest(bytes: Uint8Array | string, contentType?: string): AnyManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new InvalidDocumentError("manifest", `not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null) throw new InvalidDocumentError("manifest", "not an object");
  const d = doc as Record<string, unknown>;
  if (d.schemaVersion !== 2) throw new InvalidDocumentError("manifest", "schemaVersion must be 2");
  const mt = (typeof d.mediaType === "string" ? d.mediaType : undefined) ?? contentType;
  if (isIndexType(mt) || Array.isArray(d.manifests)) {
    if (!Array.isArray(d.manifests)) throw new InvalidDocumentError("index", "manifests is missing");
    return d as unknown as ImageIndex;
  }
  if (isManifestType(mt) || (d.config && Array.isArray(d.layers))) {
    if (typeof d.config !== "object" || !Array.isArray(d.layers)) {
      throw new InvalidDocumentError("manifest", "config or layers is missing");
    }
    return d as unknown as Manifest;
  }
  throw new InvalidDocumentError("manifest", `unsupported media type ${mt ?? "(none)"}`);
}

/** Serialises a manifest or config canonically enough to be stable: JSON without spaces. */
export function serialize(doc: object): Buffer {
  return Buffer.from(JSON.stringify(doc), "utf8");
}
