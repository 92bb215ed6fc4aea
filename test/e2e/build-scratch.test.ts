import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";

const EXAMPLE = join(import.meta.dirname, "..", "..", "examples", "hello");
let dir: string;
let layout: string;
let stdout = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-scratch-"));
  layout = join(dir, "oci");
  const r = await molt([
    "build",
    "-c",
    EXAMPLE,
    "--no-push",
    "--oci-layout-path",
    layout,
    "--digest-file",
    join(dir, "d"),
  ]);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  stdout = r.stdout.trim();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("examples/hello (FROM scratch) is written to an OCI layout that umoci unpacks", async () => {
  const bundle = join(dir, "bundle");
  await run("umoci", ["unpack", "--image", `${layout}:latest`, bundle]);
  const rootfs = join(bundle, "rootfs");
  expect(await readFile(join(rootfs, "srv", "hello.txt"), "utf8")).toBe("hello from molt\n");
  expect(await readFile(join(rootfs, "srv", "site", "index.html"), "utf8")).toBe("<h1>hello</h1>\n");
  expect(await readFile(join(rootfs, "srv", "site", "style.css"), "utf8")).toBe("body { color: teal }\n");
  const runSh = await stat(join(rootfs, "usr", "local", "bin", "run"));
  expect(runSh.mode & 0o7777).toBe(0o755); // --chmod=0755 applied
  expect((await stat(join(rootfs, "srv", "hello.txt"))).mode & 0o7777).toBe(0o644);
});

test("the layout's config carries the Dockerfile's metadata", async () => {
  const r = await run("skopeo", ["inspect", "--config", `oci:${layout}:latest`]);
  const cfg = JSON.parse(r.stdout) as {
    config: Record<string, unknown>;
    rootfs: { diff_ids: string[] };
    history: { empty_layer?: boolean; created_by?: string }[];
  };
  expect(cfg.config.User).toBe("1000:1000");
  expect(cfg.config.WorkingDir).toBe("/srv");
  expect(cfg.config.Cmd).toEqual(["/usr/local/bin/run"]);
  expect(cfg.config.Env).toEqual([
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "GREETING=hello from molt",
  ]);
  expect(cfg.config.ExposedPorts).toEqual({ "8080/tcp": {} });
  expect(cfg.config.Labels).toEqual({
    "org.opencontainers.image.title": "hello",
    "org.opencontainers.image.description": "molt's first example",
  });
  expect(cfg.rootfs.diff_ids).toHaveLength(4);
  // LABEL ENV WORKDIR(creates /srv: a layer) COPY COPY COPY EXPOSE USER CMD
  expect(cfg.history.map((h) => h.empty_layer === true)).toEqual([
    true,
    true,
    false,
    false,
    false,
    false,
    true,
    true,
    true,
  ]);
});

test("stdout, the digest file and the layout's index name the same manifest", async () => {
  expect(stdout).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(await readFile(join(dir, "d"), "utf8")).toBe(stdout);
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
  };
  expect(index.manifests).toHaveLength(1);
  expect(index.manifests[0]?.digest).toBe(stdout);
  expect(index.manifests[0]?.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
  expect(index.manifests[0]?.annotations?.["org.opencontainers.image.ref.name"]).toBe("latest");
});

test("a COPY into a new directory tree carries its missing parents as 0755 root:root", async () => {
  const { readdir } = await import("node:fs/promises");
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(
    await readFile(join(layout, "blobs", "sha256", index.manifests[0]!.digest.slice(7)), "utf8"),
  ) as { layers: { digest: string }[] };
  expect(await readdir(join(layout, "blobs", "sha256"))).toContain(manifest.layers[3]!.digest.slice(7));
  // The fourth layer is (after WORKDIR /srv and two COPYs) `COPY --chmod=0755 run.sh /usr/local/bin/run`; GNU tar lists it.
  const listing = await run("tar", [
    "-tvzf",
    join(layout, "blobs", "sha256", manifest.layers[3]!.digest.slice(7)),
  ]);
  const lines = listing.stdout
    .trim()
    .split("\n")
    .map((l) => l.split(/\s+/));
  expect(lines.map((f) => [f[0], f[1], f.at(-1)])).toEqual([
    ["drwxr-xr-x", "0/0", "usr/"],
    ["drwxr-xr-x", "0/0", "usr/local/"],
    ["drwxr-xr-x", "0/0", "usr/local/bin/"],
    ["-rwxr-xr-x", "0/0", "usr/local/bin/run"],
  ]);
});

test("COPY here-documents become files (expanded unless the delimiter is quoted)", async () => {
  const { mkdir, writeFile } = await import("node:fs/promises");
  const ctx = join(dir, "heredoc");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      "FROM scratch",
      "ARG WHO=world",
      "COPY <<EOF /greeting.txt",
      "hello $WHO",
      "EOF",
      "COPY --chmod=0755 <<'SCRIPT' <<NOTE /bin/",
      "#!/bin/sh",
      "echo $HOME",
      "SCRIPT",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile text, not a JS template
      "note for ${WHO}",
      "NOTE",
      "",
    ].join("\n"),
  );
  const out = join(dir, "heredoc-out");
  const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", out]);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
  expect(r.code).toBe(0);
  await run("umoci", ["unpack", "--image", `${out}:latest`, join(dir, "heredoc-bundle")]);
  const root = join(dir, "heredoc-bundle", "rootfs");
  expect(await readFile(join(root, "greeting.txt"), "utf8")).toBe("hello world\n");
  expect((await stat(join(root, "greeting.txt"))).mode & 0o7777).toBe(0o644);
  expect(await readFile(join(root, "bin", "SCRIPT"), "utf8")).toBe("#!/bin/sh\necho $HOME\n");
  expect((await stat(join(root, "bin", "SCRIPT"))).mode & 0o7777).toBe(0o755);
  expect(await readFile(join(root, "bin", "NOTE"), "utf8")).toBe("note for world\n");
});

test("COPY --exclude leaves matching paths out; COPY --parents keeps source paths", async () => {
  const { mkdir, writeFile, readdir } = await import("node:fs/promises");
  const ctx = join(dir, "flags");
  await mkdir(join(ctx, "src", "sub", "tmp"), { recursive: true });
  await writeFile(join(ctx, "src", "a.go"), "a\n");
  await writeFile(join(ctx, "src", "a_test.go"), "t\n");
  await writeFile(join(ctx, "src", "sub", "b.go"), "b\n");
  await writeFile(join(ctx, "src", "sub", "tmp", "junk"), "j\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    "FROM scratch\nCOPY --exclude=*_test.go --exclude=sub/tmp src /app/\nCOPY --parents src/sub/b.go src/a.go /p/\n",
  );
  const out = join(dir, "flags-out");
  const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", out]);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
  expect(r.code).toBe(0);
  await run("umoci", ["unpack", "--image", `${out}:latest`, join(dir, "flags-bundle")]);
  const root = join(dir, "flags-bundle", "rootfs");
  expect((await readdir(join(root, "app"))).sort()).toEqual(["a.go", "sub"]);
  expect(await readdir(join(root, "app", "sub"))).toEqual(["b.go"]);
  expect(await readFile(join(root, "p", "src", "sub", "b.go"), "utf8")).toBe("b\n");
  expect(await readFile(join(root, "p", "src", "a.go"), "utf8")).toBe("a\n");
});
