import { splitCsvRecord } from "./csv.js";
import { suggest } from "./suggest.js";
import type { Mount } from "./types.js";
import { parseSize } from "./values.js";

const MOUNT_TYPES = ["bind", "cache", "tmpfs", "secret", "ssh"] as const;
const MOUNT_KEYS = [
  "type",
  "from",
  "source",
  "src",
  "target",
  "dst",
  "destination",
  "readonly",
  "ro",
  "readwrite",
  "rw",
  "id",
  "sharing",
  "required",
  "size",
  "mode",
  "uid",
  "gid",
  "env",
];

/** A `--mount` value could not be understood; the message says why. */
export class MountSyntaxError extends Error {}

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === "true" || v === "1" || v === "t") return true;
  if (v === "false" || v === "0" || v === "f") return false;
  throw new MountSyntaxError(`invalid value for ${key}: ${value}`);
}

function parseUint(key: string, value: string, radix: 8 | 10): number {
  const re = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  const n = Number.parseInt(value, radix);
  if (!re.test(value) || n > 0xffffffff) throw new MountSyntaxError(`invalid value for ${key}: ${value}`);
  return n;
}

/**
 * Parses a `RUN --mount=…` value (CSV `key=value` fields, BuildKit's keys and defaults).
 * `expand` is applied to every value; when `deferVariables` is set, values still holding a `$`
 * are not validated (the instruction has not been expanded yet).
 *
 * @throws MountSyntaxError with a human message.
 */
export function parseMount(raw: string, expand: (value: string) => string, deferVariables = false): Mount {
  const fields = splitCsvRecord(raw);
  if (typeof fields === "string") throw new MountSyntaxError(`invalid mount "${raw}": ${fields}`);
  let type: (typeof MOUNT_TYPES)[number] = "bind";
  let roAuto = true;
  let readonly = false;
  let required = false;
  let from: string | undefined;
  let source: string | undefined;
  let target: string | undefined;
  let id: string | undefined;
  let sharing: string | undefined;
  let size: number | undefined;
  let mode: number | undefined;
  let uid: number | undefined;
  let gid: number | undefined;
  let env: string | undefined;
  for (const field of fields) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === "readonly" || key === "ro") {
        readonly = true;
        roAuto = false;
      } else if (key === "readwrite" || key === "rw") {
        readonly = false;
        roAuto = false;
      } else if (key === "required") {
        if (type !== "secret" && type !== "ssh") {
          throw new MountSyntaxError(`unexpected key '${key}' for mount type '${type}'`);
        }
        required = true;
      } else {
        throw new MountSyntaxError(`invalid field '${field}' must be a key=value pair`);
      }
      continue;
    }
    const value = expand(field.slice(eq + 1));
    const deferred = deferVariables && value.includes("$");
    switch (key) {
      case "type": {
        const t = value.toLowerCase();
        if (!(MOUNT_TYPES as readonly string[]).includes(t)) {
          const hint = suggest(t, MOUNT_TYPES);
          throw new MountSyntaxError(
            `unsupported mount type "${value}"${hint ? ` (did you mean ${hint}?)` : ""}`,
          );
        }
        type = t as (typeof MOUNT_TYPES)[number];
        break;
      }
      case "from":
        from = value;
        break;
      case "source":
      case "src":
        source = value;
        break;
      case "target":
      case "dst":
      case "destination":
        target = value;
        break;
      case "readonly":
      case "ro":
        if (!deferred) readonly = parseBool(key, value);
        roAuto = false;
        break;
      case "readwrite":
      case "rw":
        if (!deferred) readonly = !parseBool(key, value);
        roAuto = false;
        break;
      case "required":
        if (type !== "secret" && type !== "ssh") {
          throw new MountSyntaxError(`unexpected key '${key}' for mount type '${type}'`);
        }
        if (!deferred) required = parseBool(key, value);
        break;
      case "sharing": {
        const s = value.toLowerCase();
        if (!deferred && s !== "" && s !== "shared" && s !== "private" && s !== "locked") {
          throw new MountSyntaxError(`unsupported sharing value "${value}"`);
        }
        sharing = s === "" ? undefined : s;
        break;
      }
      case "id":
        id = value;
        break;
      case "size":
        if (type !== "tmpfs") throw new MountSyntaxError(`unexpected key 'size' for mount type '${type}'`);
        if (!deferred) {
          size = parseSize(value);
          if (size === undefined) throw new MountSyntaxError(`invalid value for size: ${value}`);
        }
        break;
      case "mode":
        if (!deferred) mode = parseUint(key, value, 8);
        else mode = 0;
        break;
      case "uid":
        if (!deferred) uid = parseUint(key, value, 10);
        else uid = 0;
        break;
      case "gid":
        if (!deferred) gid = parseUint(key, value, 10);
        else gid = 0;
        break;
      case "env":
        if (type !== "secret") throw new MountSyntaxError(`unexpected key 'env' for mount type '${type}'`);
        env = value;
        break;
      default: {
        const hint = suggest(key, MOUNT_KEYS);
        throw new MountSyntaxError(
          `unexpected key '${key}' in '${field}'${hint ? ` (did you mean ${hint}?)` : ""}`,
        );
      }
    }
  }
  const fileInfo = type === "secret" || type === "ssh" || type === "cache";
  if (!fileInfo) {
    if (mode !== undefined) throw new MountSyntaxError(`mode not allowed for "${type}" type mounts`);
    if (uid !== undefined) throw new MountSyntaxError(`uid not allowed for "${type}" type mounts`);
    if (gid !== undefined) throw new MountSyntaxError(`gid not allowed for "${type}" type mounts`);
  }
  if (roAuto) readonly = type !== "cache" && type !== "tmpfs";
  if (sharing !== undefined && type !== "cache")
    throw new MountSyntaxError(`invalid cache sharing set for ${type} mount`);
  switch (type) {
    case "bind":
    case "cache":
    case "tmpfs":
      if (!target) throw new MountSyntaxError(`mount type ${type} requires a target`);
      if (id !== undefined && type !== "cache")
        throw new MountSyntaxError(`unexpected key 'id' for mount type '${type}'`);
      break;
    case "secret":
      if (from !== undefined) throw new MountSyntaxError("secret mount should not have a from");
      if (!source && !target && !id && !env)
        throw new MountSyntaxError("invalid secret mount: one of id, source, target, env required");
      if (source && id) throw new MountSyntaxError("both source and id can't be set");
      break;
    case "ssh":
      if (from !== undefined) throw new MountSyntaxError("ssh mount should not have a from");
      break;
  }
  switch (type) {
    case "bind":
      if (source === undefined && from === undefined) return { type, target: target!, readonly, raw };
      return { type, target: target!, ...opt("source", source), ...opt("from", from), readonly, raw };
    case "cache": {
      const cacheId = id || target!;
      const cacheSharing = (sharing ?? "shared") as "shared" | "private" | "locked";
      if (source === undefined && from === undefined) {
        return {
          type,
          target: target!,
          id: cacheId,
          readonly,
          sharing: cacheSharing,
          mode: mode ?? 0o755,
          uid: uid ?? 0,
          gid: gid ?? 0,
          raw,
        };
      }
      return {
        type,
        target: target!,
        id: cacheId,
        ...opt("source", source),
        ...opt("from", from),
        readonly,
        sharing: cacheSharing,
        mode: mode ?? 0o755,
        uid: uid ?? 0,
        gid: gid ?? 0,
        raw,
      };
    }
    case "tmpfs":
      return { type, target: target!, ...opt("size", size), readonly, raw };
    case "secret": {
      const secretId =
        id || source || (target ? target.replace(/\/+$/, "").split("/").pop() || "" : "") || env || "";
      const secretTarget = target ?? (env === undefined ? `/run/secrets/${secretId}` : undefined);
      return {
        type,
        id: secretId,
        ...opt("target", secretTarget),
        ...opt("env", env),
        required,
        mode: mode ?? 0o400,
        uid: uid ?? 0,
        gid: gid ?? 0,
        raw,
      };
    }
    case "ssh":
      return {
        type,
        id: id || "default",
        ...opt("target", target),
        required,
        mode: mode ?? 0o600,
        uid: uid ?? 0,
        gid: gid ?? 0,
        raw,
      };
  }
}

/** `{ [k]: v }`, or `{}` when `v` is undefined (keeps optional mount fields absent). */
function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return v === undefined ? {} : ({ [k]: v } as { [P in K]: V });
}
