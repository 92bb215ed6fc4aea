import { eraseCredential, RegistryClient, storeCredential } from "@molt/registry-client";
import { type CommandIO, UsageError } from "../io.js";
import { authKey, configFile, HUB_KEY, readDockerConfig, writeDockerConfig } from "./docker-config.js";

const LOGIN_USAGE =
  "usage: molt login [REGISTRY] -u USER (--password-stdin | -p PASSWORD) [--insecure] [--skip-tls-verify]";
const LOGOUT_USAGE = "usage: molt logout [REGISTRY]";

interface LoginArgs {
  registry: string;
  username?: string;
  password?: string;
  passwordStdin: boolean;
  insecure: boolean;
  skipTlsVerify: boolean;
}

function parseLogin(argv: string[]): LoginArgs {
  const out: LoginArgs = {
    registry: "docker.io",
    passwordStdin: false,
    insecure: false,
    skipTlsVerify: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] =
      a.startsWith("--") && a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`, LOGIN_USAGE);
      return v;
    };
    switch (flag) {
      case "-u":
      case "--username":
        out.username = value();
        break;
      case "-p":
      case "--password":
        out.password = value();
        break;
      case "--password-stdin":
        out.passwordStdin = true;
        break;
      case "--insecure":
        out.insecure = true;
        break;
      case "--skip-tls-verify":
        out.skipTlsVerify = true;
        break;
      default:
        if (flag.startsWith("-")) throw new UsageError(`Unknown option '${flag}'`, LOGIN_USAGE);
        positional.push(a);
    }
  }
  if (positional.length > 1) throw new UsageError(`Unexpected argument '${positional[1]}'`, LOGIN_USAGE);
  if (positional[0]) out.registry = positional[0];
  return out;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The credential helper `docker login` would store a registry's login with: the registry's
 * `credHelpers` entry, else `credsStore`; `undefined` for the file itself.
 */
function helperFor(doc: Record<string, unknown>, host: string, key: string): string | undefined {
  const helpers = doc.credHelpers;
  if (typeof helpers === "object" && helpers !== null) {
    const h = helpers as Record<string, unknown>;
    const name = h[host] ?? h[key] ?? (key === HUB_KEY ? h["index.docker.io"] : undefined);
    if (typeof name === "string" && name !== "") return name;
  }
  return typeof doc.credsStore === "string" && doc.credsStore !== "" ? doc.credsStore : undefined;
}

/**
 * `molt login REGISTRY -u USER --password-stdin`: checks the credentials against the registry
 * (as `docker login` does) and stores them as docker does: with the credential helper
 * `config.json` names (`credHelpers[registry]`, else `credsStore`; the file then keeps an empty
 * `auths` entry for the registry), or else in the file under `auths` (base64 of
 * `user:password`, file mode 0600), keeping everything else in the file. The password is never
 * printed or put in an error.
 */
export async function loginCommand(
  argv: string[],
  io: CommandIO,
  stdin: NodeJS.ReadableStream = process.stdin,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const args = parseLogin(argv);
  if (!args.username) throw new UsageError("give the user name with -u/--username", LOGIN_USAGE);
  let password = args.password;
  if (args.passwordStdin) {
    if (password !== undefined)
      throw new UsageError("--password and --password-stdin are exclusive", LOGIN_USAGE);
    password = (await readAll(stdin)).replace(/\r?\n$/, "");
  } else if (password !== undefined) {
    io.stderr.write(
      "WARNING using --password on the command line is insecure (it shows in ps); use --password-stdin\n",
    );
  }
  if (!password) throw new UsageError("give the password with --password-stdin", LOGIN_USAGE);
  const host = args.registry.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  const apiHost = host === "index.docker.io" ? "docker.io" : host;
  const client = new RegistryClient({
    credentials: { [apiHost]: { username: args.username, password } },
    noCredentialChain: true,
    ...(args.insecure ? { insecure: [apiHost] } : {}),
    ...(args.skipTlsVerify ? { skipTlsVerify: [apiHost] } : {}),
    env,
  });
  try {
    await client.checkLogin(apiHost);
  } finally {
    await client.close();
  }
  const file = configFile(env);
  const doc = await readDockerConfig(file);
  const auths = (typeof doc.auths === "object" && doc.auths !== null ? doc.auths : {}) as Record<
    string,
    unknown
  >;
  const key = authKey(args.registry);
  const helper = helperFor(doc, host, key);
  if (helper) {
    await storeCredential(helper, key, { username: args.username, password }, env);
    auths[key] = {};
  } else {
    auths[key] = { auth: Buffer.from(`${args.username}:${password}`).toString("base64") };
  }
  doc.auths = auths;
  await writeDockerConfig(file, doc);
  io.stderr.write(
    `Login Succeeded (credentials stored ${helper ? `by docker-credential-${helper}` : `in ${file}`})\n`,
  );
  return 0;
}

/**
 * `molt logout [REGISTRY]`: removes the registry's entry from the docker `config.json`, and its
 * login from the credential helper that stores it (`credHelpers`/`credsStore`), as docker does.
 */
export async function logoutCommand(
  argv: string[],
  io: CommandIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (argv.length > 1 || argv[0]?.startsWith("-"))
    throw new UsageError("logout takes one registry", LOGOUT_USAGE);
  const registry = argv[0] ?? "docker.io";
  const file = configFile(env);
  const doc = await readDockerConfig(file);
  const auths = (doc.auths ?? {}) as Record<string, unknown>;
  const key = authKey(registry);
  const keys = Object.keys(auths).filter((k) => k === key || authKey(k) === key);
  if (keys.length === 0) {
    io.stderr.write(`Not logged in to ${registry}\n`);
    return 0;
  }
  const host = registry.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  for (const k of keys) {
    const helper = helperFor(doc, host, key);
    if (helper) await eraseCredential(helper, k, env);
    delete auths[k];
  }
  doc.auths = auths;
  await writeDockerConfig(file, doc);
  io.stderr.write(`Removing login credentials for ${registry}\n`);
  return 0;
}
