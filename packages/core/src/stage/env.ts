import type { ContainerConfig } from "@molt/oci";

/** The value of `key` in a `K=V` environment list, or undefined. */
export function getEnv(env: readonly string[] | undefined, key: string): string | undefined {
  if (!env) return undefined;
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    const eq = e.indexOf("=");
    if ((eq < 0 ? e : e.slice(0, eq)) === key) return eq < 0 ? "" : e.slice(eq + 1);
  }
  return undefined;
}

/** Sets `key=value` in the config's Env, replacing an existing entry in place as docker does. */
export function setEnv(config: ContainerConfig, key: string, value: string): void {
  const env = config.Env ?? [];
  const i = env.findIndex((e) => e === key || e.startsWith(`${key}=`));
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  config.Env = env;
}
