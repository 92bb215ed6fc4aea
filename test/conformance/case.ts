import { chmod, chown, link, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { run } from "../harness/exec.js";

/**
 * One path of a case's build context:
 * - a string: a regular file with that content, mode 0644;
 * - `{ content, mode, uid, gid, xattrs, caps }`: a file with a chosen mode/owner/xattrs/capabilities;
 * - `{ dir: true, mode }`: an (empty unless other paths fill it) directory;
 * - `{ symlink: "target" }`, `{ hardlink: "other/path" }`;
 * - `{ tar: {...}, gzip? }`: a tar archive (made by GNU tar, owners kept numeric) of those paths.
 */
export type FileSpec =
  | string
  | {
      content: string;
      mode?: number;
      uid?: number;
      gid?: number;
      /** Extended attributes set with `setfattr` (e.g. `user.note`). */
      xattrs?: Record<string, string>;
      /** File capabilities set with `setcap` (e.g. `cap_net_bind_service+ep`). */
      caps?: string;
    }
  | { dir: true; mode?: number; uid?: number; gid?: number }
  | { symlink: string }
  | { hardlink: string }
  | { tar: Record<string, FileSpec>; gzip?: boolean };

/**
 * A conformance case: a Dockerfile and its small context, built by molt and both references.
 * In `dockerfile`, `{{busybox}}` names the busybox test image (passwd/group with `user` 1000,
 * group `staff` 50 listing user), `{{nopasswd}}` the same files without /etc/passwd and /etc/group.
 */
export interface Case {
  name: string;
  /** What the case checks (one line), for the reader. */
  about: string;
  dockerfile: string;
  files?: Record<string, FileSpec>;
  buildArgs?: Record<string, string>;
  target?: string;
  /** Every builder must refuse this Dockerfile. */
  fails?: true;
  /**
   * Hand-written expectations (from reference.md) that molt's image must meet, for cases where a
   * reference cannot judge (it lacks the feature): paths with the fields they must have (`text`
   * for a small file's content), and config fields.
   */
  golden?: Golden;
}

/** See {@link Case.golden}. */
export interface Golden {
  tree?: Record<
    string,
    { type?: string; mode?: number; uid?: number; gid?: number; text?: string; target?: string } | null
  >;
  config?: Record<string, unknown>;
}

/** Shorthand for a case: `c(name, about, dockerfile, files?, extra?)`. */
export function c(
  name: string,
  about: string,
  dockerfile: string,
  files?: Record<string, FileSpec>,
  extra: Partial<Pick<Case, "buildArgs" | "target" | "fails" | "golden">> = {},
): Case {
  return { name, about, dockerfile: dedent(dockerfile), ...(files ? { files } : {}), ...extra };
}

/** Removes the common leading indentation and the first empty line of a template literal. */
export function dedent(s: string): string {
  const lines = s.replace(/^\n/, "").split("\n");
  const ind = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => l.match(/^ */)![0].length));
  return lines
    .map((l) => l.slice(ind))
    .join("\n")
    .replace(/[ \t]*$/, "\n")
    .replace(/\n+$/, "\n");
}

async function writeSpec(root: string, rel: string, spec: FileSpec, tmp: string): Promise<void> {
  const p = join(root, rel);
  await mkdir(dirname(p), { recursive: true });
  if (typeof spec === "string") {
    await writeFile(p, spec);
    await chmod(p, 0o644);
  } else if ("content" in spec) {
    await writeFile(p, spec.content);
    await chmod(p, spec.mode ?? 0o644);
    await chown(p, spec.uid ?? 0, spec.gid ?? 0);
    for (const [n, v] of Object.entries(spec.xattrs ?? {})) await run("setfattr", ["-n", n, "-v", v, p]);
    if (spec.caps) await run("setcap", [spec.caps, p]);
  } else if ("dir" in spec) {
    await mkdir(p, { recursive: true });
    await chmod(p, spec.mode ?? 0o755);
    await chown(p, spec.uid ?? 0, spec.gid ?? 0);
  } else if ("symlink" in spec) await symlink(spec.symlink, p);
  else if ("hardlink" in spec) await link(join(root, spec.hardlink), p);
  else {
    const src = join(tmp, `tar-${rel.replace(/\//g, "_")}`);
    await rm(src, { recursive: true, force: true });
    await mkdir(src, { recursive: true });
    await writeTree(src, spec.tar, tmp);
    const names = Object.keys(spec.tar).filter((k) => !k.includes("/") || !(k.split("/")[0]! in spec.tar));
    await run("tar", [
      spec.gzip ? "-czf" : "-cf",
      p,
      "--numeric-owner",
      "--sort=name",
      "--mtime=2020-01-01",
      "-C",
      src,
      ...names,
    ]);
    await rm(src, { recursive: true, force: true });
  }
}

/** Writes `files` under `root` in key order (so a hard link's target and a dir's mode come first). */
export async function writeTree(root: string, files: Record<string, FileSpec>, tmp: string): Promise<void> {
  const entries = Object.entries(files);
  // directories with modes last, so files written into them do not fail on a read-only mode
  for (const [rel, spec] of entries)
    if (typeof spec === "string" || !("dir" in spec)) await writeSpec(root, rel, spec, tmp);
  for (const [rel, spec] of entries)
    if (typeof spec !== "string" && "dir" in spec) await writeSpec(root, rel, spec, tmp);
}

/** Writes a case's context (Dockerfile with the base references filled in, and its files) into `dir`. */
export async function materialise(
  k: Case,
  dir: string,
  bases: Record<string, string>,
  tmp: string,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeTree(dir, k.files ?? {}, tmp);
  await writeFile(join(dir, "Dockerfile"), fillBases(k.dockerfile, bases));
}

/** Replaces `{{name}}` with the base image reference `bases[name]`. */
export function fillBases(text: string, bases: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_m, n: string) => {
    const b = bases[n];
    if (!b) throw new Error(`conformance case names unknown base {{${n}}}`);
    return b;
  });
}
