import type { FlagRow } from "./types.js";
import { bool, int, keyValues, list, oneOf, str } from "./values.js";

const group = "outputs" as const;

/** Flags that say where the image goes and how it is written. */
export const OUTPUT_FLAGS: FlagRow[] = [
  {
    name: "destination",
    short: "d",
    type: "string",
    multiple: true,
    group,
    arg: "REF",
    help: "push here; repeatable",
    apply: (v, t) => {
      t.options.destinations = list(v);
    },
  },
  {
    name: "no-push",
    type: "boolean",
    group,
    help: "push nothing (also KANIKO_NO_PUSH=true)",
    apply: (v, t) => {
      t.options.noPush = bool(v);
    },
  },
  {
    name: "oci-layout-path",
    type: "string",
    group,
    arg: "DIR",
    help: "write an OCI image layout",
    apply: (v, t) => {
      t.options.ociLayoutPath = str(v);
    },
  },
  {
    name: "tar-path",
    aliases: ["tarPath"],
    type: "string",
    group,
    arg: "FILE",
    help: "write a docker-archive tarball (docker load / podman load)",
    apply: (v, t) => {
      t.options.tarPath = str(v);
    },
  },
  {
    name: "digest-file",
    type: "string",
    group,
    arg: "FILE",
    help: "write the manifest digest",
    apply: (v, t) => {
      t.options.digestFile = str(v);
    },
  },
  {
    name: "image-name-with-digest-file",
    type: "string",
    group,
    arg: "FILE",
    help: "registry/repo@digest per destination",
    apply: (v, t) => {
      t.options.imageNameWithDigestFile = str(v);
    },
  },
  {
    name: "image-name-tag-with-digest-file",
    type: "string",
    group,
    arg: "FILE",
    help: "registry/repo:tag@digest per destination",
    apply: (v, t) => {
      t.options.imageNameTagWithDigestFile = str(v);
    },
  },
  {
    name: "label",
    type: "string",
    multiple: true,
    group,
    arg: "K=V",
    help: "add a label to the image config; repeatable",
    apply: (v, t) => {
      t.options.labels = keyValues(list(v), "label");
    },
  },
  {
    name: "annotation",
    type: "string",
    multiple: true,
    group,
    arg: "K=V",
    help: "add an annotation to the image manifest; repeatable",
    apply: (v, t) => {
      t.options.annotations = keyValues(list(v), "annotation");
    },
  },
  {
    name: "image-format",
    type: "string",
    group,
    arg: "oci|docker",
    help: "manifest format (default: follow the base image)",
    apply: (v, t) => {
      t.options.imageFormat = oneOf(str(v), "image-format", ["oci", "docker"] as const);
    },
  },
  {
    name: "compression",
    type: "string",
    group,
    arg: "gzip|zstd|none",
    help: "layer compression (default gzip)",
    apply: (v, t) => {
      t.options.compression = oneOf(str(v), "compression", ["gzip", "zstd", "none"] as const);
    },
  },
  {
    name: "compression-level",
    type: "string",
    group,
    arg: "N",
    help: "gzip 0-9, zstd 1-19 (kaniko's -1 means the default)",
    apply: (v, t) => {
      if (str(v) === "-1") return;
      t.options.compressionLevel = int(str(v), "compression-level", 0, 19, "0-19");
    },
  },
  {
    name: "reproducible",
    type: "boolean",
    group,
    help: "timestamps from SOURCE_DATE_EPOCH (or 0)",
    apply: (v, t) => {
      t.options.reproducible = bool(v);
    },
  },
  {
    name: "subsecond-mtimes",
    type: "boolean",
    group,
    help: "keep sub-second file times in layers (default: whole seconds, as Docker)",
    apply: (v, t) => {
      t.options.subsecondMtimes = bool(v);
    },
  },
  {
    name: "push-ignore-immutable-tag-errors",
    type: "boolean",
    group,
    help: "a registry refusing to overwrite an immutable tag is a warning, not a failure",
    apply: (v, t) => {
      t.options.pushIgnoreImmutableTagErrors = bool(v);
    },
  },
];
