import { BuildStepError, type ErrorLocation } from "../errors.js";
import { type FileOwner, resolveFileOwner } from "./file-owner.js";

/**
 * Resolves COPY/ADD `--chown=user[:group]` with BuildKit's file-operation rules (see
 * {@link resolveFileOwner}): ids and `root` as given, names against the image's own
 * `/etc/passwd` and `/etc/group` in `root`; a name neither file knows gives 0 (as on `scratch`).
 */
export async function resolveChown(
  value: string | undefined,
  root: string | undefined,
  _location?: ErrorLocation,
): Promise<FileOwner | undefined> {
  if (value === undefined || value === "") return undefined;
  return resolveFileOwner(root, value);
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
