import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";
import { makeTestPki, type TestPki } from "../harness/tls.js";

/**
 * Pull-side flags never weaken a push (issue 15, item 1). Every combination of the transport
 * flags is run for real against the shared plain-HTTP registry and a TLS registry whose
 * certificate no system root trusts, with FROM and -d on the same registry and across the two.
 */

const plain = inject("registry");
let dir: string;
let pki: TestPki;
let tls: RunningRegistry;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-direction-"));
  pki = await makeTestPki(dir);
  tls = await startRegistry({ tls: { certificate: pki.serverCertFile, key: pki.serverKeyFile } });
  await run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    "--dest-tls-verify=false",
    `docker://${plain}/test/busybox:latest`,
    `docker://${tls.host}/test/busybox:latest`,
  ]);
});

afterAll(async () => {
  await tls?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** True when the registry holds the tag (asked with skopeo, an independent client). */
async function has(ref: string): Promise<boolean> {
  const r = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], { allowFail: true });
  return r.code === 0;
}

interface Case {
  /** FROM registry and destination registry: P = plain HTTP, T = untrusted TLS. */
  from: "P" | "T";
  to: "P" | "T";
  flags: (hosts: { P: string; T: string; ca: string }) => string[];
  /** `ok`, or which side must fail: the base-image pull or the push. */
  outcome: "ok" | "pull fails" | "push fails";
  /** What the error line must say (checked for failures). */
  error?: RegExp;
}

const cases: Record<string, Case> = {
  // The destination is checked before the build (push permission), so a push-side failure
  // shows first when both sides would fail.
  "P→P no flags": { from: "P", to: "P", flags: () => [], outcome: "push fails" },
  "P→P --insecure-pull alone: the push does not fall back to HTTP": {
    from: "P",
    to: "P",
    flags: () => ["--insecure-pull"],
    outcome: "push fails",
    error: /TLS error talking to registry 127\.0\.0\.1:\d+: .*mark it insecure for pushes/,
  },
  "P→P --insecure-pull alone, permission check skipped: the push itself refuses HTTP": {
    from: "P",
    to: "P",
    flags: () => ["--insecure-pull", "--skip-push-permission-check"],
    outcome: "push fails",
    // Which blob request of the push meets the refusal first is a race (the base's layers are
    // checked with a HEAD, the new config is uploaded without one): any of them, with the hint.
    error:
      /^molt: error: (check blob|start upload of|upload blob) .*TLS error talking to registry 127\.0\.0\.1:\d+: .*mark it insecure for pushes/,
  },
  "P→P --insecure alone": { from: "P", to: "P", flags: () => ["--insecure"], outcome: "pull fails" },
  "P→P --insecure --insecure-pull": {
    from: "P",
    to: "P",
    flags: () => ["--insecure", "--insecure-pull"],
    outcome: "ok",
  },
  "P→P --insecure-registry HOST": {
    from: "P",
    to: "P",
    flags: (h) => ["--insecure-registry", h.P],
    outcome: "ok",
  },
  "P→P --insecure-pull --skip-tls-verify": {
    from: "P",
    to: "P",
    flags: () => ["--insecure-pull", "--skip-tls-verify"],
    outcome: "push fails",
  },
  "P→P --insecure-pull --skip-tls-verify-registry HOST": {
    from: "P",
    to: "P",
    flags: (h) => ["--insecure-pull", "--skip-tls-verify-registry", h.P],
    outcome: "push fails",
  },
  "T→T no flags": {
    from: "T",
    to: "T",
    flags: () => [],
    outcome: "push fails",
    error: /check push permission .*TLS error talking to registry/,
  },
  "T→T no flags, permission check skipped: the pull verifies": {
    from: "T",
    to: "T",
    flags: () => ["--skip-push-permission-check"],
    outcome: "pull fails",
    error: /get manifest .*TLS error talking to registry/,
  },
  "T→T --skip-tls-verify-pull alone: the push verifies the certificate": {
    from: "T",
    to: "T",
    flags: () => ["--skip-tls-verify-pull"],
    outcome: "push fails",
    error:
      /TLS error talking to registry 127\.0\.0\.1:\d+: \S+ \(use a custom CA or skip TLS verification for it for pushes\)/,
  },
  "T→T --skip-tls-verify-pull alone, permission check skipped: the push itself verifies": {
    from: "T",
    to: "T",
    flags: () => ["--skip-tls-verify-pull", "--skip-push-permission-check"],
    outcome: "push fails",
    // As above: the base layers' HEAD or the new config's first POST meets the refusal first.
    error:
      /^molt: error: (check blob|start upload of|upload blob) .*TLS error talking to registry .*for pushes\)/,
  },
  "T→T --skip-tls-verify alone": {
    from: "T",
    to: "T",
    flags: () => ["--skip-tls-verify"],
    outcome: "pull fails",
  },
  "T→T --skip-tls-verify --skip-tls-verify-pull": {
    from: "T",
    to: "T",
    flags: () => ["--skip-tls-verify", "--skip-tls-verify-pull"],
    outcome: "ok",
  },
  "T→T --skip-tls-verify-registry HOST": {
    from: "T",
    to: "T",
    flags: (h) => ["--skip-tls-verify-registry", h.T],
    outcome: "ok",
  },
  "T→T --registry-certificate HOST=CA (verified)": {
    from: "T",
    to: "T",
    flags: (h) => ["--registry-certificate", `${h.T}=${h.ca}`],
    outcome: "ok",
  },
  "T→T --insecure-pull --skip-tls-verify (pull over plain HTTP to a TLS server)": {
    from: "T",
    to: "T",
    flags: () => ["--insecure-pull", "--skip-tls-verify"],
    outcome: "pull fails",
  },
  "T→T --skip-tls-verify-pull --insecure (push over plain HTTP to a TLS server)": {
    from: "T",
    to: "T",
    flags: () => ["--skip-tls-verify-pull", "--insecure"],
    outcome: "push fails",
  },
  "P→T --insecure-pull --skip-tls-verify": {
    from: "P",
    to: "T",
    flags: () => ["--insecure-pull", "--skip-tls-verify"],
    outcome: "ok",
  },
  "P→T --insecure-pull --skip-tls-verify-pull": {
    from: "P",
    to: "T",
    flags: () => ["--insecure-pull", "--skip-tls-verify-pull"],
    outcome: "push fails",
    error: /TLS error/,
  },
  "T→P --skip-tls-verify-pull --insecure": {
    from: "T",
    to: "P",
    flags: () => ["--skip-tls-verify-pull", "--insecure"],
    outcome: "ok",
  },
  "T→P --skip-tls-verify-pull alone": {
    from: "T",
    to: "P",
    flags: () => ["--skip-tls-verify-pull"],
    outcome: "push fails",
    error: /mark it insecure for pushes/,
  },
};

describe("pull-side and push-side transport flags are kept apart", () => {
  for (const [name, c] of Object.entries(cases)) {
    test(name, async () => {
      const hosts = { P: plain, T: tls.host, ca: pki.caFile };
      const ctx = join(dir, `ctx-${++n}`);
      const tmp = join(dir, `tmp-${n}`);
      await mkdir(ctx, { recursive: true });
      await mkdir(tmp, { recursive: true });
      await writeFile(
        join(ctx, "Dockerfile"),
        `FROM ${hosts[c.from]}/test/busybox:latest\nLABEL case=${n}\n`,
      );
      const dest = `${hosts[c.to]}/direction/case${n}:latest`;
      const r = await molt(["build", "-c", ctx, "-d", dest, ...c.flags(hosts)], {
        env: { ...process.env, TMPDIR: tmp },
      });
      const pushed = await has(dest);
      if (c.outcome === "ok") {
        expect({ code: r.code, pushed, stderr: r.code ? r.stderr : "" }).toEqual({
          code: 0,
          pushed: true,
          stderr: "",
        });
        return;
      }
      expect(r.code, r.stderr).not.toBe(0);
      expect(pushed).toBe(false);
      const line = r.stderr.trim().split("\n").at(-1) ?? "";
      // The failing side is named by the operation: a pull reads the base manifest, a push
      // begins by checking blobs in the destination.
      if (c.outcome === "pull fails") expect(line).toMatch(/get manifest .*busybox/);
      else expect(line).toMatch(/(check push permission to|check blob|put manifest|upload).*direction\/case/);
      if (c.error) expect(line).toMatch(c.error);
      expect(line).toMatch(/MOLT_REGISTRY_/);
    });
  }
});

describe("pull-side flags cover every image pulled, not only FROM", () => {
  test("COPY --from an image on a plain-HTTP registry that no FROM names: --insecure-pull reaches it", async () => {
    const ctx = join(dir, "ctx-copy-from");
    const tmp = join(dir, "tmp-copy-from");
    await mkdir(ctx, { recursive: true });
    await mkdir(tmp, { recursive: true });
    await writeFile(
      join(ctx, "Dockerfile"),
      `FROM scratch\nCOPY --from=${plain}/test/busybox:latest /bin/busybox /busybox\n`,
    );
    const args = ["build", "-c", ctx, "--no-push", "--tar-path", join(dir, "copy-from.tar")];
    const without = await molt(args, { env: { ...process.env, TMPDIR: tmp } });
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/TLS error talking to registry/);
    const withFlag = await molt([...args, "--insecure-pull"], { env: { ...process.env, TMPDIR: tmp } });
    expect(withFlag.code, withFlag.stderr).toBe(0);
  });
});
