import { describe, expect, test } from "vitest";
import { parseBuildFlags } from "../src/commands/build-flags.js";
import { UsageError } from "../src/io.js";

describe("molt build takes kaniko's flag names", () => {
  test("short and long forms, repeatable destinations, labels and build args", () => {
    const { options } = parseBuildFlags(
      [
        "-c",
        "ctx",
        "-f",
        "ctx/Dockerfile.prod",
        "-d",
        "reg.example/app:1",
        "--destination=reg.example/app:latest",
        "--label",
        "a=1",
        "--label=b=x=y",
        "--build-arg",
        "V=2",
        "--insecure",
        "--insecure-pull",
        "--digest-file",
        "out/d",
        "--target",
        "final",
        "--custom-platform",
        "linux/arm64",
      ],
      "/cwd",
    );
    expect(options).toMatchObject({
      context: "ctx",
      dockerfile: "ctx/Dockerfile.prod",
      destinations: ["reg.example/app:1", "reg.example/app:latest"],
      labels: { a: "1", b: "x=y" },
      buildArgs: { V: "2" },
      registries: { "*": { push: { insecure: true }, pull: { insecure: true } } },
      digestFile: "out/d",
      target: "final",
      platform: "linux/arm64",
    });
  });

  test("--custom-platform with a comma list is a usage error saying one platform per build", () => {
    let err: unknown;
    try {
      parseBuildFlags(["--no-push", "--custom-platform", "linux/amd64,linux/arm64"], "/");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/one platform per build/);
    expect((err as UsageError).message).not.toMatch(/no image for/);
  });

  test("the context defaults to the working directory; --no-push needs no destination", () => {
    expect(parseBuildFlags(["--no-push"], "/here").options).toMatchObject({
      context: "/here",
      noPush: true,
      destinations: [],
    });
  });

  test("a bare --build-arg takes its value from the environment", () => {
    process.env.MOLT_FLAG_TEST = "from-env";
    try {
      expect(parseBuildFlags(["--no-push", "--build-arg", "MOLT_FLAG_TEST"], "/").options.buildArgs).toEqual({
        MOLT_FLAG_TEST: "from-env",
      });
    } finally {
      delete process.env.MOLT_FLAG_TEST;
    }
  });

  test("registry flags map per host", () => {
    const { options } = parseBuildFlags(
      [
        "--no-push",
        "--registry-certificate",
        "reg.example=ca.pem",
        "--registry-client-cert",
        "reg.example=c.pem,k.pem",
        "--skip-tls-verify-registry",
        "other.example",
        "--registry-mirror",
        "mirror.example",
        "--push-retry",
        "7",
      ],
      "/",
    );
    // kaniko's per-flag settings become per-host settings (files are read by build())
    expect(options.registries).toEqual({
      "reg.example": { caFile: "ca.pem", certFile: "c.pem", keyFile: "k.pem" },
      "other.example": { skipTlsVerify: true },
      // --registry-mirror: Docker Hub's mirrors
      "docker.io": { mirrors: ["mirror.example"] },
    });
    // --push-retry 7: seven retries after the first try
    expect(options.retry).toEqual({ attempts: 8 });
  });

  test.each([
    [["--frobnicate", "--no-push"], /Unknown option '--frobnicate'/],
    [["--no-push", "-d"], /argument missing/],
    [["--no-push", "--label", "novalue"], /--label expects KEY=VALUE/],
    [["--no-push", "--compression", "lz4"], /--compression must be one of gzip, zstd, none/],
    [["--no-push", "stray"], /positional|Unexpected argument/i],
    [[], /no destination/],
  ])("%j is a usage error", (argv, message) => {
    let err: unknown;
    try {
      parseBuildFlags(argv, "/");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(message);
    expect((err as UsageError).usage).toMatch(/^usage: molt build /);
  });
});

describe("extraction limit flags", () => {
  const parse = (...args: string[]) => parseBuildFlags(["--no-push", ...args], "/").options;
  test("sizes take binary units; fields not given keep the library's defaults", () => {
    expect(parse().extractLimits).toBeUndefined();
    expect(
      parse("--max-extract-size", "512M", "--max-extract-file-size", "2G", "--max-extract-entries", "1000")
        .extractLimits,
    ).toEqual({
      bytes: 512 * 1024 * 1024,
      fileBytes: 2 * 1024 ** 3,
      entries: 1000,
    });
    expect(parse("--max-extract-size", "1.5KiB").extractLimits).toEqual({ bytes: 1536 });
    expect(parse("--max-extract-size", "4096").extractLimits).toEqual({ bytes: 4096 });
  });
  test("--no-extract-limits turns them off, and cannot be mixed with a limit", () => {
    expect(parse("--no-extract-limits").extractLimits).toBe(false);
    expect(() => parse("--no-extract-limits", "--max-extract-size", "1G")).toThrow(/cannot be combined/);
  });
  test("a malformed size or count is a usage error naming the flag", () => {
    expect(() => parse("--max-extract-size", "lots")).toThrow(
      '--max-extract-size expects a size like 512M or 2G, got "lots"',
    );
    expect(() => parse("--max-extract-entries", "2.5")).toThrow(
      /--max-extract-entries expects a positive number/,
    );
    expect(() => parse("--max-extract-file-size", "0")).toThrow(/--max-extract-file-size/);
  });
});

describe("--cache-snapshots and --cache-snapshot-max-bytes", () => {
  test("set the --cache-dir store's snapshots and their bound; by default neither is given", () => {
    const on = parseBuildFlags(["--cache-dir", "/c", "--no-push"], "/cwd").options.cache?.stores;
    expect(on).toEqual([{ type: "directory", path: "/c" }]);
    const off = parseBuildFlags(
      ["--cache-dir", "/c", "--no-push", "--cache-snapshots=false", "--cache-snapshot-max-bytes", "2GiB"],
      "/cwd",
    ).options.cache?.stores;
    expect(off).toEqual([
      { type: "directory", path: "/c", snapshots: false, snapshotMaxBytes: 2 * 1024 ** 3 },
    ]);
  });
});
