import { accountsIn, type RootView } from "../stage/root-view.js";

/** A numeric owner for files an instruction writes. */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** BuildKit's `parseUID`: `root` is 0 without reading anything; otherwise a decimal number, or not an id. */
function idOf(s: string): number | undefined {
  if (s === "root") return 0;
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0x7fffffff ? n : undefined;
}

/**
 * Resolves `user[:group]` for files that WORKDIR creates (with the current `USER`) and that
 * COPY/ADD write with `--chown`, with the rules of BuildKit's file operations (`llb.WithUser`,
 * then the file backend's `readUser`), which differ from RUN's:
 * - `root` or a number is that id without reading `/etc/passwd`; a uid alone gives gid = uid;
 * - a name is looked up in the image's `/etc/passwd`; when it is not there (or there is no
 *   passwd, as on `scratch`) the owner is 0:0, without error;
 * - a group (`root`, a number, or a name from `/etc/group`) sets the gid; an unknown group name
 *   keeps the user's gid; an empty group (`app:`) is gid 0.
 * `root` is a view of the stage's root, or undefined when the stage has no files yet; it is read
 * only when a name must be looked up.
 */
export async function resolveFileOwner(root: RootView | undefined, spec: string): Promise<FileOwner> {
  const colon = spec.indexOf(":");
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  const uidNum = idOf(userPart);
  const gidNum = groupPart === undefined ? undefined : groupPart === "" ? 0 : idOf(groupPart);
  const needUsers = uidNum === undefined;
  const needGroups = groupPart !== undefined && gidNum === undefined;
  const accounts =
    root !== undefined && (needUsers || needGroups) ? await accountsIn(root) : { users: [], groups: [] };
  let owner: FileOwner = { uid: 0, gid: 0 };
  if (uidNum !== undefined) owner = { uid: uidNum, gid: uidNum };
  else {
    const u = accounts.users.find((x) => x.name === userPart);
    if (u) owner = { uid: u.uid, gid: u.gid };
  }
  if (gidNum !== undefined) owner.gid = gidNum;
  else if (needGroups) {
    const g = accounts.groups.find((x) => x.name === groupPart);
    if (g) owner.gid = g.gid;
  }
  return owner;
}
