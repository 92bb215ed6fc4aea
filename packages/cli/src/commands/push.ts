import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { formatReference, parseReference } from "@molt/oci";
import { pushOciLayout, RegistryClient } from "@molt/registry-client";
import { dockerArchiveToLayout } from "../docker-archive-layout.js";
import { type CommandIO, UsageError } from "../io.js";

const PUSH_USAGE =
  "usage: molt push SOURCE -d DEST [-d DEST]... [--insecure] [--insecure-registry HOST] [--skip-tls-verify] [--digest-file FILE]\n" +
  "  SOURCE: oci:DIR[:TAG] or a directory (an OCI image layout), docker-archive:FILE or a .tar file";

interface PushArgs {
  source?: string;
  destinations: string[];
  insecure: boolean;
  insecureRegistries: string[];
  skipTlsVerify: boolean;
  digestFile?: string;
}

function parsePush(argv: string[]): PushArgs {
  const out: PushArgs = { destinations: [], insecure: false, insecureRegistries: [], skipTlsVerify: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      if (eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`, PUSH_USAGE);
      return v;
    };
    switch (flag) {
      case "-d":
      case "--destination":
        out.destinations.push(value());
        break;
      case "--insecure":
        out.insecure = true;
        break;
      case "--insecure-registry":
        out.insecureRegistries.push(value());
        break;
      case "--skip-tls-verify":
        out.skipTlsVerify = true;
        break;
      case "--digest-file":
        out.digestFile = value();
        break;
      default:
        if (flag.startsWith("-")) throw new UsageError(`Unknown option '${flag}'`, PUSH_USAGE);
        if (out.source !== undefined) throw new UsageError(`Unexpected argument '${a}'`, PUSH_USAGE);
        out.source = a;
    }
  }
  if (!out.source)
    throw new UsageError("name the image to push (an OCI layout or a docker archive)", PUSH_USAGE);
  if (out.destinations.length === 0) throw new UsageError("give at least one -d/--destination", PUSH_USAGE);
  return out;
}

/** Splits `oci:DIR[:TAG]`; a trailing `:TAG` is only taken when it cannot be part of the path. */
function ociSource(spec: string): { dir: string; tag?: string } {
  const m = /^(.*?)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?$/.exec(spec)!;
  return m[2] ? { dir: m[1]!, tag: m[2] } : { dir: spec };
}

/**
 * `molt push SOURCE -d DEST...` (the kaniko fork's `executor push`): pushes an image from an
 * OCI image layout or a docker archive to every destination, blobs first and each manifest
 * last. Prints the manifest digest on stdout.
 */
export async function pushCommand(argv: string[], io: CommandIO, signal?: AbortSignal): Promise<number> {
  const args = parsePush(argv);
  const dests = args.destinations.map((d) => parseReference(d));
  const hosts = dests.map((d) => d.registry);
  const client = new RegistryClient({
    insecure: [...args.insecureRegistries, ...(args.insecure ? hosts : [])],
    skipTlsVerify: args.skipTlsVerify ? hosts : [],
  });
  let tmp: string | undefined;
  try {
    const src = args.source!;
    let dir: string;
    let tag: string | undefined;
    if (src.startsWith("oci:")) ({ dir, tag } = ociSource(src.slice(4)));
    else if (src.startsWith("docker-archive:") || (await stat(resolve(io.cwd, src))).isFile()) {
      tmp = await mkdtemp(join(tmpdir(), "molt-push-"));
      await dockerArchiveToLayout(resolve(io.cwd, src.replace(/^docker-archive:/, "")), tmp);
      dir = join(tmp, "layout");
      tag = "latest";
    } else dir = src;
    let digest = "";
    for (const ref of dests) {
      digest = await pushOciLayout(client, resolve(io.cwd, dir), tag, ref, signal ? { signal } : {});
      io.stderr.write(`PUSHED ${formatReference(ref)}@${digest}\n`);
    }
    if (args.digestFile) await writeFile(resolve(io.cwd, args.digestFile), digest);
    io.stdout.write(`${digest}\n`);
    return 0;
  } finally {
    await client.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
