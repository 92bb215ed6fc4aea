import { BuildStepError, type ErrorLocation } from "../errors.js";

/** Parses COPY/ADD `--chown=uid[:gid]` with numeric ids. Names need the stage's /etc/passwd. */
export function parseChown(
  value: string | undefined,
  location?: ErrorLocation,
): { uid: number; gid: number } | undefined {
  if (value === undefined || value === "") return undefined;
  const [u, g] = value.split(":", 2);
  const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);
  const uid = num(u);
  const gid = g === undefined ? uid : num(g);
  if (uid === undefined || gid === undefined) {
    throw new BuildStepError(
      "MOLT_CHOWN_NAME_UNSUPPORTED",
      `--chown=${value}: user and group names need the stage's /etc/passwd, which COPY without a root filesystem cannot read yet; use numeric ids`,
      location,
    );
  }
  return { uid, gid };
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
