import { describe, expect, test } from "vitest";
import { BUILD_FLAG_ROWS, parseBuildFlags } from "../src/commands/build-flags.js";
import { parseGitFlag } from "../src/commands/flags/context.js";
import { parseRegistryMap } from "../src/commands/flags/registry.js";
import { UsageError } from "../src/io.js";

/**
 * Every flag of kaniko's executor (GoogleContainerTools/kaniko cmd/executor/cmd/root.go, and
 * the osscontainertools fork's additions), written out by hand from its source.
 */
const KANIKO_FLAGS = [
  "verbosity",
  "log-format",
  "log-timestamp",
  "force",
  "dockerfile",
  "context",
  "context-sub-path",
  "bucket",
  "destination",
  "snapshot-mode",
  "custom-platform",
  "build-arg",
  "insecure",
  "skip-tls-verify",
  "insecure-pull",
  "skip-tls-verify-pull",
  "push-retry",
  "push-ignore-immutable-tag-errors",
  "image-fs-extract-retry",
  "image-download-retry",
  "kaniko-dir",
  "tar-path",
  "single-snapshot",
  "reproducible",
  "target",
  "no-push",
  "no-push-cache",
  "cache-repo",
  "cache-dir",
  "digest-file",
  "image-name-with-digest-file",
  "image-name-tag-with-digest-file",
  "oci-layout-path",
  "compression",
  "compression-level",
  "cache",
  "compressed-caching",
  "cleanup",
  "cache-ttl",
  "insecure-registry",
  "skip-tls-verify-registry",
  "registry-certificate",
  "registry-client-cert",
  "registry-map",
  "registry-mirror",
  "skip-default-registry-fallback",
  "ignore-var-run",
  "label",
  "skip-unused-stages",
  "use-new-run",
  "git",
  "cache-copy-layers",
  "cache-run-layers",
  "ignore-path",
  "force-build-metadata",
  "skip-push-permission-check",
  "annotation",
  "preserve-context",
  "materialize",
  "credential-helpers",
  "dryrun",
  "help",
  // deprecated spellings kaniko kept
  "snapshotMode",
  "customPlatform",
  "tarPath",
  "whitelist-var-run",
];
const BOOLEAN = new Set([
  "log-timestamp",
  "force",
  "insecure",
  "skip-tls-verify",
  "insecure-pull",
  "skip-tls-verify-pull",
  "push-ignore-immutable-tag-errors",
  "single-snapshot",
  "reproducible",
  "no-push",
  "no-push-cache",
  "cache",
  "compressed-caching",
  "cleanup",
  "skip-default-registry-fallback",
  "ignore-var-run",
  "skip-unused-stages",
  "use-new-run",
  "cache-copy-layers",
  "cache-run-layers",
  "force-build-metadata",
  "skip-push-permission-check",
  "preserve-context",
  "materialize",
  "dryrun",
  "help",
  "whitelist-var-run",
]);
/** A valid value for each string flag. */
const VALUE: Record<string, string> = {
  verbosity: "debug",
  "log-format": "json",
  "snapshot-mode": "redo",
  snapshotMode: "time",
  "custom-platform": "linux/arm64",
  customPlatform: "linux/arm64",
  "build-arg": "A=1",
  "push-retry": "2",
  "image-fs-extract-retry": "3",
  "image-download-retry": "1",
  compression: "zstd",
  "compression-level": "3",
  "registry-certificate": "r.example=ca.pem",
  "registry-client-cert": "r.example=c.pem,k.pem",
  "registry-map": "docker.io=m.example",
  label: "a=b",
  annotation: "org.example=1",
  git: "branch=main",
  "credential-helpers": "gitlab",
  "cache-ttl": "6h",
};

describe("every kaniko executor flag is accepted", () => {
  test("the table has a row for each (with its kaniko type)", () => {
    const names = new Map<string, (typeof BUILD_FLAG_ROWS)[number]>();
    for (const r of BUILD_FLAG_ROWS) for (const n of [r.name, ...(r.aliases ?? [])]) names.set(n, r);
    const missing = KANIKO_FLAGS.filter((f) => !names.has(f));
    expect(missing).toEqual([]);
    const wrongType = KANIKO_FLAGS.filter((f) => (names.get(f)!.type === "boolean") !== BOOLEAN.has(f));
    expect(wrongType).toEqual([]);
  });

  test.each(KANIKO_FLAGS)("--%s parses", (flag) => {
    const argv = BOOLEAN.has(flag) ? [`--${flag}`] : [`--${flag}`, VALUE[flag] ?? "x"];
    const parsed = parseBuildFlags(["--no-push", ...argv], "/", {});
    expect(parsed.options.context).toBeDefined();
  });

  test("kaniko's boolean spellings: --flag=true, --flag=false", () => {
    expect(parseBuildFlags(["--no-push=true"], "/", {}).options.noPush).toBe(true);
    expect(() => parseBuildFlags(["--no-push=false"], "/", {})).toThrow(/no destination/);
    expect(() => parseBuildFlags(["--no-push=maybe"], "/", {})).toThrow(UsageError);
    expect(
      parseBuildFlags(["--no-push", "--ignore-var-run=false"], "/", {}).options.ignorePaths,
    ).toBeUndefined();
    expect(parseBuildFlags(["--no-push", "--ignore-var-run=true"], "/", {}).options.ignorePaths).toEqual([
      "/var/run",
    ]);
  });

  test("flags with a meaning set their options", () => {
    const { options, warnings } = parseBuildFlags(
      [
        "--no-push",
        "--single-snapshot",
        "--snapshot-mode=redo",
        "--annotation",
        "org.opencontainers.image.source=https://x.example/repo",
        "--annotation=k=v=w",
        "--registry-map",
        "index.docker.io=mirror.example/hub;gcr.io=gcr-mirror.example",
        "--registry-map=gcr.io=second.example",
        "--skip-default-registry-fallback",
        "--git",
        "branch=dev,depth=5",
        "--git=recurse-submodules=true",
        "--kaniko-dir",
        "/scratch",
        "--push-ignore-immutable-tag-errors",
        "--cleanup",
        "--force",
        "--skip-unused-stages",
        "-b",
        "my-bucket",
      ],
      "/",
      {},
    );
    expect(options).toMatchObject({
      singleSnapshot: true,
      snapshotMode: "walk",
      annotations: { "org.opencontainers.image.source": "https://x.example/repo", k: "v=w" },
      // --registry-map FROM=TO: FROM's mirrors (index.docker.io is Docker Hub), no fallback
      registries: {
        "docker.io": { mirrors: ["mirror.example/hub"], mirrorFallback: false },
        "gcr.io": { mirrors: ["gcr-mirror.example", "second.example"], mirrorFallback: false },
      },
      git: { branch: "dev", depth: 5, recurseSubmodules: true },
      tmpDir: "/scratch",
      pushIgnoreImmutableTagErrors: true,
      context: "gs://my-bucket",
    });
    // already molt's behaviour: no warning
    expect(warnings).toEqual([]);
  });

  test("--snapshot-mode maps kaniko's modes; --snapshotter wins", () => {
    const mode = (...a: string[]) => parseBuildFlags(["--no-push", ...a], "/", {}).options.snapshotMode;
    expect(mode("--snapshot-mode", "full")).toBe("auto");
    expect(mode("--snapshot-mode", "redo")).toBe("walk");
    expect(mode("--snapshot-mode", "time")).toBe("walk");
    expect(mode("--snapshotter", "overlay", "--snapshot-mode", "time")).toBe("overlay");
    expect(() => mode("--snapshot-mode", "fast")).toThrow(/full, redo, time/);
  });

  test("flags with no meaning warn once, naming the flag and why", () => {
    const { warnings } = parseBuildFlags(
      [
        "--no-push",
        "--use-new-run",
        "--image-fs-extract-retry",
        "3",
        "--materialize",
        "--force-build-metadata",
      ],
      "/",
      {},
    );
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(/^--use-new-run has no effect in molt: .*--snapshotter/);
    expect(warnings[1]).toMatch(/^--image-fs-extract-retry has no effect in molt: /);
  });

  test("camelCase aliases work and say they are deprecated", () => {
    const { options, warnings } = parseBuildFlags(
      ["--tarPath", "out.tar", "--customPlatform=linux/arm64", "--snapshotMode", "full"],
      "/",
      {},
    );
    expect(options).toMatchObject({ tarPath: "out.tar", platform: "linux/arm64", snapshotMode: "auto" });
    expect(warnings).toEqual([
      "flag --tarPath is deprecated; use --tar-path",
      "flag --customPlatform is deprecated; use --custom-platform",
      "flag --snapshotMode is deprecated; use --snapshot-mode",
    ]);
  });

  test("kaniko's environment variables; flags win over them", () => {
    const env = {
      KANIKO_NO_PUSH: "true",
      KANIKO_REGISTRY_MIRROR: "m.example",
      KANIKO_REGISTRY_MAP: "quay.io=q.example",
      KANIKO_DIR: "/k",
    };
    expect(parseBuildFlags([], "/", env).options).toMatchObject({
      noPush: true,
      registries: { "docker.io": { mirrors: ["m.example"] }, "quay.io": { mirrors: ["q.example"] } },
      tmpDir: "/k",
    });
    expect(parseBuildFlags(["--kaniko-dir", "/flag"], "/", env).options.tmpDir).toBe("/flag");
  });

  test("pflag's short forms: -cDIR, -c=DIR, -d value", () => {
    expect(parseBuildFlags(["-cctx", "--no-push"], "/", {}).options.context).toBe("ctx");
    expect(parseBuildFlags(["-c=ctx", "--no-push"], "/", {}).options.context).toBe("ctx");
    expect(parseBuildFlags(["-d", "r.example/a:1"], "/", {}).options.destinations).toEqual(["r.example/a:1"]);
  });
});

describe("flag values", () => {
  test("--git", () => {
    expect(
      parseGitFlag(["branch=v1,single-branch=true,recurse-submodules=false,depth=0,insecure-skip-tls=true"]),
    ).toEqual({
      branch: "v1",
      singleBranch: true,
      recurseSubmodules: false,
      depth: 0,
      insecureSkipTls: true,
    });
    expect(() => parseGitFlag(["depth=-1"])).toThrow(/--git depth/);
    expect(() => parseGitFlag(["color=blue"])).toThrow(/does not know "color"/);
    expect(() => parseGitFlag(["single-branch=yes please"])).toThrow(/true or false/);
  });

  test("--registry-map", () => {
    expect(parseRegistryMap(["a.example=b.example;a.example=c.example", "d.example=e.example/p"])).toEqual({
      "a.example": ["b.example", "c.example"],
      "d.example": ["e.example/p"],
    });
    expect(() => parseRegistryMap(["a.example"])).toThrow(/FROM=TO/);
    expect(() => parseRegistryMap(["a.example="])).toThrow(/FROM=TO/);
  });

  test("--credential-helpers rejects a helper kaniko does not have", () => {
    expect(() => parseBuildFlags(["--no-push", "--credential-helpers", "keychain"], "/", {})).toThrow(
      /unknown helper "keychain"/,
    );
  });
});
