import { BuildStepError, type ErrorLocation } from "../errors.js";
import { resolveUser } from "../runner/index.js";

/**
 * Resolves COPY/ADD `--chown=user[:group]`: numeric ids as given; names against the image's own
 * `/etc/passwd` and `/etc/group` in `root` (a `FROM scratch` stage has none, so names fail there).
 */
export async function resolveChown(
  value: string | undefined,
  root: string | undefined,
  location?: ErrorLocation,
): Promise<{ uid: number; gid: number } | undefined> {
  if (value === undefined || value === "") return undefined;
  const [u, g] = value.split(":", 2);
  const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);
  const uid = num(u);
  const gid = g === undefined ? uid : num(g);
  if (uid !== undefined && gid !== undefined) return { uid, gid };
  if (!root) {
    throw new BuildStepError(
      "MOLT_CHOWN_NAME_UNRESOLVABLE",
      `--chown=${value}: names need an /etc/passwd, and this stage has no base image; use numeric ids`,
      location,
    );
  }
  try {
    const user = await resolveUser(root, value);
    return { uid: user.uid, gid: user.gid };
  } catch (e) {
    throw new BuildStepError(
      "MOLT_CHOWN_NAME_UNRESOLVABLE",
      `--chown=${value}: ${(e as Error).message}`,
      location,
      {
        cause: e,
      },
    );
  }
}

/** Parses `--chmod` in octal (`755`, `0644`). */
export function parseChmod(value: string | undefined, location?: ErrorLocation): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^[0-7]{3,4}$/.test(value)) {
    throw new BuildStepError(
      "MOLT_INVALID_CHMOD",
      `--chmod=${value}: expected an octal mode such as 0755`,
      location,
    );
  }
  return Number.parseInt(value, 8);
}
