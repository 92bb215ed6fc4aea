import { posix } from "node:path";

/** Resolves `p` against the working directory `workdir` as a container path (absolute, clean). */
export function resolveContainerPath(workdir: string | undefined, p: string): string {
  const base = workdir && workdir.length > 0 ? workdir : "/";
  const abs = posix.isAbsolute(p) ? p : posix.join(base, p);
  const clean = posix.normalize(abs);
  return clean.length > 1 && clean.endsWith("/") ? clean.slice(0, -1) : clean;
}

/** A container path as a layer path: no leading slash (`/app/x` → `app/x`, `/` → ``). */
export function toLayerPath(containerPath: string): string {
  return posix.normalize(containerPath).replace(/^\/+/, "").replace(/\/+$/, "");
}
