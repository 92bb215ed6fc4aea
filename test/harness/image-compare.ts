import type { ImageConfigJson } from "./image-read.js";
import type { ImageTreeEntry } from "./image-tree.js";

/** The runtime-config fields the conformance suite compares (Docker/OCI `config` object keys). */
export const CONFIG_FIELDS = [
  "Env",
  "Cmd",
  "Entrypoint",
  "WorkingDir",
  "User",
  "ExposedPorts",
  "Volumes",
  "Labels",
  "StopSignal",
  "Healthcheck",
  "OnBuild",
  "Shell",
] as const;

/** What of an image the suite compares: the final tree and the runtime config fields. */
export interface ImageSummary {
  tree: Record<string, ImageTreeEntry>;
  config: Record<string, unknown>;
}

/** `null`, `""`, `[]` and `{}` all mean "not set" to a runtime; they compare equal. */
function normalise(v: unknown): unknown {
  if (v === null || v === undefined || v === "") return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    if (keys.length === 0) return undefined;
    return Object.fromEntries(keys.map((k) => [k, normalise(o[k]) ?? null]));
  }
  return v;
}

/** The compared part of an image config. */
export function summariseConfig(config: ImageConfigJson): Record<string, unknown> {
  const c = config.config ?? {};
  const out: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS) {
    const v = normalise(c[f]);
    if (v !== undefined) out[f] = v;
  }
  return out;
}

const j = (v: unknown): string => (v === undefined ? "unset" : JSON.stringify(v));
const oct = (m: number): string => `0${m.toString(8)}`;
/** Text with the loopback registry's `127.0.0.1:PORT` (different in every run) made neutral. */
const hostless = (t: string): string => t.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT");
/** A file's content for a difference line: the text when small, else the start of its sha256. */
const shown = (e: ImageTreeEntry): string =>
  e.text !== undefined ? JSON.stringify(e.text) : (e.sha256?.slice(0, 12) ?? "");

function show(e: ImageTreeEntry): string {
  const parts = [e.type, oct(e.mode), `${e.uid}:${e.gid}`];
  if (e.size !== undefined) parts.push(`${e.size}B`);
  if (e.target !== undefined) parts.push(`->${e.target}`);
  if (e.links) parts.push(`links=${e.links.join(",")}`);
  if (e.xattrs) parts.push(`xattrs=${Object.keys(e.xattrs).sort().join(",")}`);
  return parts.join(" ");
}

/**
 * Differences between molt's image and a reference's, one line each:
 * - `+PATH …` only the reference has PATH, `-PATH …` only molt has it;
 * - `~PATH FIELD: molt=X ref=Y` both have it and FIELD differs (type, mode, owner, size,
 *   content, target, xattrs, links); symlink modes are not compared (Linux ignores them), nor
 *   the port of the loopback test registry inside small text files (it changes per run);
 * - `config.FIELD: molt=X ref=Y` a runtime-config field differs (`config.Labels.KEY` per label).
 */
export function compareImages(molt: ImageSummary, ref: ImageSummary): string[] {
  const out: string[] = [];
  for (const [p, a] of Object.entries(molt.tree)) {
    const b = ref.tree[p];
    if (!b) {
      out.push(`-${p} ${show(a)}`);
      continue;
    }
    if (a.type !== b.type) {
      out.push(`~${p} type: molt=${show(a)} ref=${show(b)}`);
      continue;
    }
    if (a.type !== "symlink" && a.mode !== b.mode)
      out.push(`~${p} mode: molt=${oct(a.mode)} ref=${oct(b.mode)}`);
    if (a.uid !== b.uid || a.gid !== b.gid)
      out.push(`~${p} owner: molt=${a.uid}:${a.gid} ref=${b.uid}:${b.gid}`);
    if (a.text !== undefined && b.text !== undefined && hostless(a.text) === hostless(b.text)) {
      // the same text but for the test registry's port (a COPY'd Dockerfile names its base)
    } else if (a.size !== b.size)
      out.push(`~${p} size: molt=${a.size} ${shown(a)} ref=${b.size} ${shown(b)}`);
    else if (a.sha256 !== b.sha256) out.push(`~${p} content: molt=${shown(a)} ref=${shown(b)}`);
    if (a.target !== b.target) out.push(`~${p} target: molt=${j(a.target)} ref=${j(b.target)}`);
    if (a.dev !== b.dev) out.push(`~${p} dev: molt=${j(a.dev)} ref=${j(b.dev)}`);
    if (j(a.xattrs) !== j(b.xattrs)) out.push(`~${p} xattrs: molt=${j(a.xattrs)} ref=${j(b.xattrs)}`);
    if (j(a.links) !== j(b.links)) out.push(`~${p} links: molt=${j(a.links)} ref=${j(b.links)}`);
  }
  for (const [p, b] of Object.entries(ref.tree)) if (!(p in molt.tree)) out.push(`+${p} ${show(b)}`);
  for (const f of CONFIG_FIELDS) {
    if (f === "Labels") {
      const la = (molt.config[f] ?? {}) as Record<string, unknown>;
      const lb = (ref.config[f] ?? {}) as Record<string, unknown>;
      for (const k of new Set([...Object.keys(la), ...Object.keys(lb)]))
        if (j(la[k]) !== j(lb[k])) out.push(`config.Labels.${k}: molt=${j(la[k])} ref=${j(lb[k])}`);
      continue;
    }
    const a = j(molt.config[f]);
    const b = j(ref.config[f]);
    if (a !== b) out.push(`config.${f}: molt=${a} ref=${b}`);
  }
  return out.sort();
}
