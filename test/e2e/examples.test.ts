import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { parseBuildFlags } from "../../packages/cli/src/commands/build-flags.js";
import { run } from "../harness/exec.js";
import { type ExecutorImage, executorImage } from "../harness/executor-image.js";
import { createPodman, type Podman } from "../harness/podman.js";
import { type RunningRegistry, requireBinary, startRegistry } from "../harness/registry.js";

// Every example in examples/ is parsed and the command it runs is run: the CI files' command
// lines in the executor image under podman, the Kubernetes Pod with `podman kube play`, the
// Node program with node. Pushes go to a registry that checks a password.

const registry = inject("registry");
const REPO = join(import.meta.dirname, "..", "..");
const EXAMPLES = join(REPO, "examples");
const PASSWORD = "examples-pass";
const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
let dir: string;
let image: ExecutorImage;
let podman: Podman;
let authed: RunningRegistry;
let configJson: string;
const creds = () => ["--creds", `ci:${PASSWORD}`];

async function digestAt(ref: string): Promise<string> {
  const out = await run("skopeo", ["inspect", "--tls-verify=false", ...creds(), `docker://${ref}`]);
  return JSON.parse(out.stdout).Digest as string;
}

/** A writable copy of examples/hello (CI systems check the source out read-write). */
async function helloCopy(name: string): Promise<string> {
  const d = join(dir, name);
  await cp(join(EXAMPLES, "hello"), d, { recursive: true });
  return d;
}

beforeAll(async () => {
  requireBinary("htpasswd", "Debian package apache2-utils");
  requireBinary("catatonit", "Debian package catatonit (podman kube play's infra container)");
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-examples-"));
  await writeFile(
    join(dir, "htpasswd"),
    execFileSync("htpasswd", ["-Bbn", "ci", PASSWORD], { encoding: "utf8" }),
  );
  authed = await startRegistry({
    authYaml: `  htpasswd:\n    realm: molt-test\n    path: ${join(dir, "htpasswd")}`,
  });
  configJson = join(dir, "config.json");
  await writeFile(
    configJson,
    JSON.stringify({ auths: { [authed.host]: { auth: Buffer.from(`ci:${PASSWORD}`).toString("base64") } } }),
  );
  image = await executorImage(registry);
  podman = await createPodman();
  await podman.podman(["pull", "-q", "--tls-verify=false", image.ref]);
  await podman.podman(["pull", "-q", "--tls-verify=false", image.debugRef]);
}, 900_000);

afterAll(async () => {
  await podman?.cleanup();
  await authed?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("examples/kubernetes", () => {
  test("pod.yaml and job.yaml: the executor image, kaniko-style args that molt parses, the secret at /kaniko/.docker", async () => {
    const pod = parse(await readFile(join(EXAMPLES, "kubernetes", "pod.yaml"), "utf8"));
    const job = parse(await readFile(join(EXAMPLES, "kubernetes", "job.yaml"), "utf8"));
    expect(pod.kind).toBe("Pod");
    expect(job.kind).toBe("Job");
    for (const spec of [pod.spec, job.spec.template.spec]) {
      const c = spec.containers[0];
      expect(c.image).toMatch(/molt\/executor:latest$/);
      expect(c.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: "/kaniko/.docker" }));
      const flags = parseBuildFlags(c.args, "/workspace", {});
      expect(flags.options.context).toMatch(/^gs:\/\//);
      expect(flags.options.destinations?.length).toBe(1);
      expect(flags.values["cache-repo"]).toMatch(/cache$/);
    }
  });

  /** Fills in a runnable manifest's `${NAME}` placeholders as envsubst would (examples/hello's tarball, the test registry). */
  async function runnable(file: string, dest: string): Promise<string> {
    const tarball = join(dir, "hello.tar.gz");
    await run("tar", ["-C", join(EXAMPLES, "hello"), "-czf", tarball, "."]);
    const values: Record<string, string> = {
      CONTEXT_TAR_GZ_BASE64: (await readFile(tarball)).toString("base64"),
      EXECUTOR: image.ref,
      DESTINATION: dest,
      EXTRA_ARG: "--insecure",
    };
    return (await readFile(join(EXAMPLES, "kubernetes", "runnable", file), "utf8")).replace(
      /\$\{([A-Z_0-9]+)\}/g,
      (m, k: string) => values[k] ?? m,
    );
  }

  let secretMade = false;
  /** Plays a Pod manifest with podman; returns the molt container's exit status and logs. */
  async function play(
    yamlText: string,
    pod: string,
  ): Promise<{ status: string; stdout: string; stderr: string }> {
    const file = join(dir, `${pod}.yaml`);
    await writeFile(file, yamlText);
    if (!secretMade) {
      // podman 4.3 reads a Secret volume from a podman secret holding the Secret's YAML, and
      // writes `data` values as they are (it does not base64-decode them, as Kubernetes does).
      await writeFile(
        join(dir, "secret.yaml"),
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: molt-docker-config\ntype: Opaque\ndata:\n  config.json: '${await readFile(configJson, "utf8")}'\n`,
      );
      await podman.podman(["secret", "create", "molt-docker-config", join(dir, "secret.yaml")]);
      secretMade = true;
    }
    await podman.podman(["kube", "play", "--tls-verify=false", file]);
    const name = `${pod}-molt`;
    try {
      const wait = await podman.podman(["wait", name]);
      const logs = await podman.podman(["logs", name]);
      return { status: wait.stdout.trim(), stdout: logs.stdout, stderr: logs.stderr };
    } finally {
      await podman.podman(["pod", "rm", "-f", pod], { allowFail: true });
    }
  }

  test("runnable/build-pod.yaml runs with podman kube play: context from a ConfigMap tarball, push with the secret", async () => {
    const dest = `${authed.host}/examples/hello:kube`;
    const r = await play(await runnable("build-pod.yaml", dest), "molt-hello");
    expect(r.stderr + r.stdout).not.toMatch(/molt: error/);
    expect(r.status).toBe("0");
    expect(r.stdout.trim()).toBe(await digestAt(dest));
  }, 180_000);

  test("runnable/build-job.yaml: the Job's pod template, played as the Pod a Job controller makes, pushes the image", async () => {
    const dest = `${authed.host}/examples/hello:job`;
    const docs = parseAllDocuments(await runnable("build-job.yaml", dest)).map((d) => d.toJS());
    const job = docs.find((d) => d.kind === "Job");
    // No Job controller can run here (see examples/kubernetes/README.md): the Job object is
    // checked against batch/v1's JobSpec as the Kubernetes API reference defines it.
    expect(job).toMatchObject({
      apiVersion: "batch/v1",
      metadata: { name: "molt-hello-job" },
      spec: { backoffLimit: 2, ttlSecondsAfterFinished: 3600 },
    });
    const JOB_SPEC_FIELDS = [
      "activeDeadlineSeconds",
      "backoffLimit",
      "backoffLimitPerIndex",
      "completionMode",
      "completions",
      "manualSelector",
      "maxFailedIndexes",
      "parallelism",
      "podFailurePolicy",
      "podReplacementPolicy",
      "selector",
      "successPolicy",
      "suspend",
      "template",
      "ttlSecondsAfterFinished",
    ];
    expect(Object.keys(job.spec).filter((k) => !JOB_SPEC_FIELDS.includes(k))).toEqual([]);
    // one completion of one pod (the defaults), no selector of its own: the controller labels its pod
    expect([job.spec.completions ?? 1, job.spec.parallelism ?? 1, job.spec.selector]).toEqual([
      1,
      1,
      undefined,
    ]);
    // a Job's pod template must not restart in place (Never or OnFailure; Never keeps each try's log)
    expect(job.spec.template.spec.restartPolicy).toBe("Never");
    const tpl = job.spec.template.spec;
    expect(tpl.containers).toHaveLength(1);
    const c = tpl.containers[0];
    expect(c.image).toBe(image.ref);
    const flags = parseBuildFlags(c.args.filter(Boolean), "/workspace", {});
    expect(flags.options.context).toBe("tar:///context/context.tar.gz");
    expect(flags.options.destinations).toEqual([dest]);
    expect(flags.options.imageNameTagWithDigestFile).toBe("/dev/termination-log");
    // the volumes name the ConfigMap of this file and the registry secret at kaniko's path
    const configMap = docs.find((d) => d.kind === "ConfigMap");
    const volumes = Object.fromEntries(tpl.volumes.map((v: { name: string }) => [v.name, v]));
    const mounts = Object.fromEntries(
      c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]),
    );
    expect(volumes[mounts["/context"]].configMap.name).toBe(configMap.metadata.name);
    expect(Object.keys(configMap.binaryData)).toEqual(["context.tar.gz"]);
    expect(volumes[mounts["/kaniko/.docker"]].secret.secretName).toBe("molt-docker-config");
    // podman 4.3 plays Pods, not Jobs: run spec.template as a Pod, beside the Job's ConfigMap.
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: job.metadata.name, labels: { "job-name": job.metadata.name } },
      spec: job.spec.template.spec,
    };
    const others = docs.filter((d) => d.kind !== "Job");
    expect(others.map((d) => d.kind)).toEqual(["ConfigMap"]);
    const r = await play([...others, pod].map((d) => stringify(d)).join("---\n"), job.metadata.name);
    expect(r.stderr + r.stdout).not.toMatch(/molt: error/);
    expect(r.status).toBe("0");
    // the registry holds the image; the termination-log line names it with its digest
    const digest = await digestAt(dest);
    expect(r.stdout.trim()).toBe(digest);
  }, 180_000);
});

test("examples/cloudbuild: the build step's command line, run as Cloud Build runs it", async () => {
  const cfg = parse(await readFile(join(EXAMPLES, "cloudbuild", "cloudbuild.yaml"), "utf8"));
  const step = cfg.steps.find((s: { id: string }) => s.id === "build");
  const subs: Record<string, string> = {
    ...cfg.substitutions,
    _MOLT_EXECUTOR: image.ref,
    _REGISTRY: authed.host,
    _EXTRA_FLAG: "--insecure",
    PROJECT_ID: "proj",
    SHORT_SHA: "abc1234",
  };
  const fill = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, k: string) => subs[k] ?? "");
  expect(fill(step.name)).toBe(image.ref);
  const src = await helloCopy("cloudbuild-src");
  const r = await podman.podman(
    [
      "run",
      "--rm",
      "--network",
      "host",
      ...ULIMITS,
      "--tls-verify=false",
      "-v",
      `${src}:/workspace`,
      "-v",
      `${configJson}:/kaniko/.docker/config.json:ro`,
      fill(step.name),
      ...step.args.map(fill),
    ],
    { allowFail: true },
  );
  expect(r.stderr).not.toMatch(/molt: error/);
  expect(r.code).toBe(0);
  const digest = await digestAt(`${authed.host}/proj/app:abc1234`);
  expect(await digestAt(`${authed.host}/proj/app:latest`)).toBe(digest);
  expect((await readFile(join(src, "image-digest.txt"), "utf8")).trim().split("\n")).toEqual([
    `${authed.host}/proj/app:abc1234@${digest}`,
    `${authed.host}/proj/app:latest@${digest}`,
  ]);
}, 180_000);

test("examples/gitlab-ci: the job's script in the :debug image, logged in by --credential-helpers gitlab", async () => {
  const cfg = parse(await readFile(join(EXAMPLES, "gitlab-ci", ".gitlab-ci.yml"), "utf8"));
  const job = cfg.build;
  expect(job.image.name).toMatch(/molt\/executor:debug$/);
  expect(job.image.entrypoint).toEqual([""]);
  const src = await helloCopy("gitlab-src");
  const env = {
    CI_PROJECT_DIR: "/builds/group/project",
    CI_REGISTRY: authed.host,
    CI_REGISTRY_USER: "ci",
    CI_REGISTRY_PASSWORD: PASSWORD,
    CI_REGISTRY_IMAGE: `${authed.host}/group/project`,
    CI_COMMIT_SHORT_SHA: "0a1b2c3",
    MOLT_FLAGS: "--insecure",
  };
  const r = await podman.podman(
    [
      "run",
      "--rm",
      "--network",
      "host",
      ...ULIMITS,
      "--tls-verify=false",
      "--entrypoint",
      "/busybox/sh",
      "-v",
      `${src}:${env.CI_PROJECT_DIR}`,
      ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      image.debugRef,
      "-euc",
      (job.script as string[]).join("\n"),
    ],
    { allowFail: true },
  );
  expect(r.stderr).not.toMatch(/molt: error/);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^molt \d/m);
  const digest = await digestAt(`${authed.host}/group/project:0a1b2c3`);
  expect((await readFile(join(src, "digest"), "utf8")).trim()).toBe(digest);
}, 180_000);

test("examples/github-actions: the build step's run script, docker standing for podman", async () => {
  const wf = parse(
    await readFile(join(EXAMPLES, "github-actions", ".github", "workflows", "image.yml"), "utf8"),
  );
  const step = wf.jobs.build.steps.find((s: { id?: string }) => s.id === "build");
  const ctx: Record<string, string> = {
    "github.repository_owner": "owner",
    "github.repository": "owner/app",
    "github.sha": "f00dfeed",
  };
  const fill = (s: string) => s.replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_, k: string) => ctx[k] ?? "");
  const env = Object.fromEntries(
    Object.entries(step.env as Record<string, string>).map(([k, v]) => [k, fill(v)]),
  );
  expect(env.IMAGE).toBe("ghcr.io/owner/app:f00dfeed");
  env.MOLT_EXECUTOR = image.ref;
  env.IMAGE = `${authed.host}/owner/app:f00dfeed`;
  const home = join(dir, "gh-home");
  await mkdir(join(home, ".docker"), { recursive: true });
  await cp(configJson, join(home, ".docker", "config.json"));
  const src = await helloCopy("gh-src");
  const output = join(dir, "gh-output");
  await writeFile(output, "");
  const podmanCmd = ["podman", ...podman.base].map((a) => `'${a}'`).join(" ");
  const prelude = `docker() { if [ "$1" = run ]; then shift; ${podmanCmd} run --network host ${ULIMITS.join(" ")} --tls-verify=false "$@"; else ${podmanCmd} "$@"; fi; }\n`;
  const r = await run("bash", ["-euo", "pipefail", "-c", prelude + step.run], {
    cwd: src,
    env: { ...podman.env, ...env, HOME: home, GITHUB_OUTPUT: output, MOLT_FLAGS: "--insecure" },
    allowFail: true,
  });
  expect(r.stderr).not.toMatch(/molt: error/);
  expect(r.code).toBe(0);
  const digest = await digestAt(env.IMAGE);
  expect(await readFile(output, "utf8")).toBe(`digest=${digest}\n`);
}, 180_000);

test("examples/node-api: the Node program builds through its own context source and draws a progress bar", async () => {
  const layout = join(dir, "node-api-layout");
  const dest = `${registry}/examples/node-api:1`;
  const r = await run(process.execPath, [join(EXAMPLES, "node-api", "build.mjs"), layout, dest], {
    env: { ...process.env, MOLT_INSECURE: "1" },
    allowFail: true,
  });
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("[####################] 4/4 LABEL made.by=node-api");
  expect(r.stderr).toMatch(/^\[#+-+\] 2\/4 COPY index.html/m);
  expect(r.stderr).toContain(`pushed ${dest}`);
  const pushed = JSON.parse(
    (await run("skopeo", ["inspect", "--tls-verify=false", `docker://${dest}`])).stdout,
  );
  expect(pushed.Digest).toBe(r.stdout.trim());
  await run("umoci", ["unpack", "--image", `${layout}:1`, join(dir, "node-api-bundle")]);
  const root = join(dir, "node-api-bundle", "rootfs");
  expect(await readFile(join(root, "srv", "index.html"), "utf8")).toBe("<h1>built by a Node program</h1>\n");
  expect(JSON.parse(await readFile(join(root, "srv", "build-info.json"), "utf8")).tool).toBe(
    "examples/node-api",
  );
  // The generated context's temp dir is gone.
  const left = (
    await run("sh", ["-c", `ls -d ${tmpdir()}/node-api-ctx-* 2>/dev/null || true`])
  ).stdout.trim();
  expect(left).toBe("");
}, 120_000);
