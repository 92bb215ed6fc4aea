import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { pushDebian } from "../harness/debian-image.js";
import { molt } from "../harness/molt-cli.js";
import { createPodman, type Podman } from "../harness/podman.js";

// A realistic build: apt-get on a Debian base (debootstrap'ed once and cached in .cache/),
// then podman runs the program the RUN installed. Needs Debian's mirror, like the machine does.
const registry = inject("registry");
let dir: string;
let podman: Podman;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-debian-"));
  base = await pushDebian(registry);
  podman = await createPodman();
}, 600_000);
afterAll(async () => {
  await podman?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test("RUN apt-get install on Debian gives an image whose installed program runs in podman", async () => {
  const ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${base}`,
      "RUN apt-get update && apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*",
      'CMD ["hello"]',
      "",
    ].join("\n"),
  );
  const dest = `${registry}/e2e/debian-hello:1`;
  const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull"]);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
  expect(r.code).toBe(0);
  const out = await podman.runImage(dest);
  expect(out.stdout).toBe("Hello, world!\n");
}, 600_000);
