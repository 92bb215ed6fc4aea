import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTestPki } from "../../../test/harness/tls.js";
import type { ContextSource } from "../src/index.js";

/** A tree spec: file contents, `{ link }` for symlinks, `null` for an empty directory, `{ data, mode }` for a file with a mode. */
export type TreeSpec = Record<string, string | null | { link: string } | { data: string; mode: number }>;

export async function makeTree(root: string, files: TreeSpec): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [p, v] of Object.entries(files)) {
    const abs = join(root, p);
    if (v === null) {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await mkdir(join(abs, ".."), { recursive: true });
    if (typeof v === "string") await writeFile(abs, v);
    else if ("link" in v) await symlink(v.link, abs);
    else {
      await writeFile(abs, v.data);
      await chmod(abs, v.mode);
    }
  }
}

/** What a COPY of the whole context would carry: path, type, mode, size, link target, content hash. */
export async function fileSet(ctx: ContextSource): Promise<string[]> {
  const out: string[] = [];
  for await (const e of ctx.walk()) {
    let content = "";
    if (e.type === "file") {
      const h = createHash("sha256");
      for await (const c of ctx.open(e.path)) h.update(c as Buffer);
      content = h.digest("hex").slice(0, 16);
    }
    out.push(`${e.path} ${e.type} ${e.mode.toString(8)} ${e.size} ${e.linkTarget ?? ""} ${content}`);
  }
  return out;
}

/** A small context with every kind of entry a context has, plus a .dockerignore. */
export const SAMPLE: TreeSpec = {
  ".dockerignore": "*.log\nsecret/\n!secret/public.txt\n",
  Dockerfile: "FROM busybox\nCOPY . /app\n",
  "app/main.sh": { data: "#!/bin/sh\necho hi\n", mode: 0o755 },
  "app/data.json": '{"a":1}\n',
  "app/empty/": null,
  "app/link": { link: "main.sh" },
  "app/abs-link": { link: "/etc/hostname" },
  "debug.log": "noise\n",
  "secret/key.pem": "KEY\n",
  "secret/public.txt": "hello\n",
  "unicode-é.txt": "é\n",
};

/** Runs a program with no stdin (the shared harness's `run` writes to stdin, which EPIPEs on some tools). */
export function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end();
  });
}

/** Makes a throwaway CA and a server certificate for 127.0.0.1 with openssl; returns PEM paths. */
export async function makeTestCa(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const pki = await makeTestPki(dir);
  return { ca: pki.caFile, cert: pki.serverCertFile, key: pki.serverKeyFile };
}
