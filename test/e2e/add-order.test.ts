import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";

// dockerfile2llb's dispatchCopy chains one copy per entry of SourcePaths in the order written
// (URL, git and local sources alike), then one per heredoc (SourceContents): a later source of
// the same name overrides an earlier one, and a heredoc overrides every written source.
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-add-order-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("ADD/COPY apply sources in the order written and heredocs last, as BuildKit's copy chain", async () => {
  const server = createServer((_req, res) => res.end("from url\n"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/files/a.txt`;
    const ctx = join(dir, "ctx");
    await mkdir(ctx);
    await writeFile(join(ctx, "a.txt"), "from context\n");
    await writeFile(join(ctx, "EOF"), "context EOF\n");
    await writeFile(
      join(ctx, "Dockerfile"),
      [
        "FROM scratch",
        `ADD ${url} a.txt /url-then-local/`,
        `ADD a.txt ${url} /local-then-url/`,
        "COPY EOF <<EOF /source-then-heredoc/",
        "heredoc EOF",
        "EOF",
        "COPY <<EOF EOF /heredoc-then-source/",
        "heredoc EOF",
        "EOF",
        "",
      ].join("\n"),
    );
    const layout = join(dir, "out");
    const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", layout]);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
    expect(r.code).toBe(0);
    const bundle = join(dir, "bundle");
    await run("umoci", ["unpack", "--image", `${layout}:latest`, bundle]);
    const read = (p: string) => readFile(join(bundle, "rootfs", p), "utf8");
    expect(await read("url-then-local/a.txt")).toBe("from context\n");
    expect(await read("local-then-url/a.txt")).toBe("from url\n");
    expect(await read("source-then-heredoc/EOF")).toBe("heredoc EOF\n");
    expect(await read("heredoc-then-source/EOF")).toBe("heredoc EOF\n");
  } finally {
    server.close();
  }
});
