import { type ErrorLocation, InvalidChmodError } from "../errors.js";
import type { RootView } from "../stage/root-view.js";
import { compileSymbolicMode } from "./chmod-symbolic.js";
import { type FileOwner, resolveFileOwner } from "./file-owner.js";

/**
 * Resolves COPY/ADD `--chown=user[:group]` with BuildKit's file-operation rules (see
 * {@link resolveFileOwner}): ids and `root` as given, names against the image's own
 * `/etc/passwd` and `/etc/group` in `root`; a name neither file knows gives 0 (as on `scratch`).
 */
export async function resolveChown(
  value: string | undefined,
  root: RootView | undefined,
  _location?: ErrorLocation,
): Promise<FileOwner | undefined> {
  if (value === undefined || value === "") return undefined;
  return resolveFileOwner(root, value);
}

/**
 * Parses `--chmod`: an octal mode (`755`, `0644`) as a number; a symbolic one (`u=rwx,g=rx,o=`)
 * gives undefined here, as it has no single value (see {@link chmodApplier}).
 * @throws BuildStepError `MOLT_INVALID_CHMOD` for anything else.
 */
export function parseChmod(value: string | undefined, location?: ErrorLocation): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^[0-7]{3,4}$/.test(value)) return Number.parseInt(value, 8);
  if (compileSymbolicMode(value)) return undefined;
  throw new InvalidChmodError(
    `--chmod=${value}: expected an octal mode such as 0755 or a symbolic one such as u=rwx,g=rx,o=`,
    location,
  );
}

/** `--chmod` as a function of an entry's mode and whether it is a directory; undefined without `--chmod`. */
export function chmodApplier(
  value: string | undefined,
  location?: ErrorLocation,
): ((mode: number, isDir: boolean) => number) | undefined {
  const octal = parseChmod(value, location);
  if (octal !== undefined) return () => octal;
  return value ? compileSymbolicMode(value) : undefined;
}
