import type { RunUser } from "./types.js";

/** The `PATH` a RUN gets when neither the image nor an ARG sets one (docker's default). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function keyOf(entry: string): string {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * The exact environment of a RUN command: the stage's `ENV` (`imageEnv`, in order), then the
 * build args in scope that ENV does not already set (ENV wins, as in docker), then
 * `PATH=`{@link DEFAULT_PATH} when unset and `HOME=` the user's home when unset. Later
 * duplicates of a key in `imageEnv` replace earlier ones in place.
 *
 * @example
 * ```ts
 * runEnvironment(["A=1"], new Map([["A", "x"], ["V", "2"]]), user) // ["A=1", "V=2", "PATH=/usr/local/sbin:…", "HOME=/root"]
 * ```
 */
export function runEnvironment(
  imageEnv: readonly string[],
  args: ReadonlyMap<string, string>,
  user: RunUser,
): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  const put = (k: string, entry: string) => {
    const i = index.get(k);
    if (i === undefined) {
      index.set(k, out.length);
      out.push(entry);
    } else out[i] = entry;
  };
  for (const e of imageEnv) {
    const k = keyOf(e);
    if (k === "") continue;
    put(k, e.includes("=") ? e : `${e}=`);
  }
  for (const [k, v] of args) {
    if (k !== "" && !index.has(k)) put(k, `${k}=${v}`);
  }
  if (!index.has("PATH")) put("PATH", `PATH=${DEFAULT_PATH}`);
  if (!index.has("HOME")) put("HOME", `HOME=${user.home || "/"}`);
  return out;
}
