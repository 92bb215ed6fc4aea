import { readFile } from "node:fs/promises";
import { RunnerSetupError, UnknownGroupError, UnknownUserError } from "./errors.js";
import { resolveInRoot } from "./root-path.js";
import type { RunUser } from "./types.js";

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^[0-9]+$/;

async function readInRoot(rootfs: string, path: string): Promise<string | undefined> {
  try {
    const r = await resolveInRoot(rootfs, path);
    if (r.missing.length > 0) return undefined;
    return await readFile(r.hostPath, "utf8");
  } catch (e) {
    if (e instanceof RunnerSetupError) return undefined; // a symlink loop or a non-directory: no file, as open(2) would say
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw e;
  }
}

function lines(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("+") && !l.startsWith("-"))
    .map((l) => l.split(":"));
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of lines(text)) {
    if (f.length < 4 || !NUMERIC.test(f[2]!) || !NUMERIC.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? "" });
  }
  return out;
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of lines(text)) {
    if (f.length < 3 || !NUMERIC.test(f[2]!)) continue;
    const members = (f[3] ?? "")
      .split(",")
      .map((m) => m.trim())
      .filter(Boolean);
    out.push({ name: f[0]!, gid: Number(f[2]), members });
  }
  return out;
}

/** The image's own accounts: `/etc/passwd` and `/etc/group` inside `rootfs` (empty lists when missing). */
export interface ImageAccounts {
  /** Entries of `/etc/passwd`. */
  users: ReadonlyArray<{ name: string; uid: number; gid: number; home: string }>;
  /** Entries of `/etc/group`. */
  groups: ReadonlyArray<{ name: string; gid: number; members: string[] }>;
}

/** Reads `/etc/passwd` and `/etc/group` inside `rootfs` (symlinks resolved inside it); missing files give empty lists. */
export async function readImageAccounts(rootfs: string): Promise<ImageAccounts> {
  return parseImageAccounts(await readInRoot(rootfs, "/etc/passwd"), await readInRoot(rootfs, "/etc/group"));
}

/** Parses the text of an image's `/etc/passwd` and `/etc/group` (undefined: the file is missing). */
export function parseImageAccounts(passwd: string | undefined, group: string | undefined): ImageAccounts {
  return { users: parsePasswd(passwd), groups: parseGroup(group) };
}

function checkId(n: number, what: string, text: string): void {
  if (!Number.isSafeInteger(n) || n > 0xfffffffe) {
    throw what === "user"
      ? new UnknownUserError(text, "id out of range")
      : new UnknownGroupError(text, "id out of range");
  }
}

/**
 * Resolves a `USER` value (`name`, `uid`, `name:group`, `uid:gid`, any mix; empty = root)
 * against the image's own `/etc/passwd` and `/etc/group` inside `rootfs` (read with symlinks
 * resolved inside the root, never the host's files). Follows runc/docker: a numeric uid needs no
 * passwd entry (gid 0, HOME `/` then); an explicit group sets the primary gid and no
 * supplementary groups; without one, the supplementary groups are those of `/etc/group` that
 * list the user's name. Unknown names throw {@link UnknownUserError} / {@link UnknownGroupError}.
 *
 * @example
 * ```ts
 * const u = await resolveUser("/var/lib/molt/stage0", "user:staff"); // { uid: 1000, gid: 50, groups: [], home: "/home/user", name: "user" }
 * ```
 */
export async function resolveUser(rootfs: string, user: string | undefined): Promise<RunUser> {
  const spec = (user ?? "").trim();
  const colon = spec.indexOf(":");
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? "" : spec.slice(colon + 1);
  const passwd = parsePasswd(await readInRoot(rootfs, "/etc/passwd"));

  let uid: number;
  let gid = 0;
  let home = "/";
  let name: string | undefined;
  if (userArg === "" || NUMERIC.test(userArg)) {
    uid = userArg === "" ? 0 : Number(userArg);
    checkId(uid, "user", userArg);
    const e = passwd.find((p) => p.uid === uid);
    if (e) {
      gid = e.gid;
      home = e.home || "/";
      name = e.name;
    }
  } else {
    const e = passwd.find((p) => p.name === userArg);
    if (!e) throw new UnknownUserError(userArg, "no matching entries in the image's /etc/passwd");
    uid = e.uid;
    gid = e.gid;
    home = e.home || "/";
    name = e.name;
  }

  let groups: number[] = [];
  if (groupArg !== "" || name !== undefined) {
    const group = parseGroup(
      groupArg !== "" || name !== undefined ? await readInRoot(rootfs, "/etc/group") : undefined,
    );
    if (groupArg !== "") {
      const g = group.find(
        (x) => x.name === groupArg || (NUMERIC.test(groupArg) && x.gid === Number(groupArg)),
      );
      if (g) gid = g.gid;
      else if (NUMERIC.test(groupArg)) {
        gid = Number(groupArg);
        checkId(gid, "group", groupArg);
      } else throw new UnknownGroupError(groupArg, "no matching entries in the image's /etc/group");
    } else {
      groups = [...new Set(group.filter((g) => g.members.includes(name!)).map((g) => g.gid))];
    }
  }
  const out: RunUser = { uid, gid, groups, home };
  if (name !== undefined) out.name = name;
  return out;
}
