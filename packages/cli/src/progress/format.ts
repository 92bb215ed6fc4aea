/**
 * Sizes as BuildKit prints them (decimal units, three significant digits): `37B`, `2.35kB`,
 * `12.3MB`, `1.05GB`.
 */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${n}B`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${Number(v.toFixed(digits))}${units[i]}`;
}

/** Seconds with one decimal, as BuildKit's `DONE 3.2s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A digest shortened for display: `sha256:` and the first 12 hex digits. */
export function shortDigest(digest: string): string {
  const i = digest.indexOf(":");
  return i < 0 ? digest.slice(0, 12) : digest.slice(0, i + 13);
}

/** The message of a failed step in BuildKit's words where it has them. */
export function stepErrorMessage(e: { message: string; exitCode?: number; argv?: string[] }): string {
  if (e.exitCode !== undefined && e.argv && e.argv.length > 0) {
    return `process "${e.argv.join(" ")}" did not complete successfully: exit code ${e.exitCode}`;
  }
  return e.message;
}
