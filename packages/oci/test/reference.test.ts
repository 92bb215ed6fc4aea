import { describe, expect, it } from "vitest";
import { familiarReference, formatReference, InvalidReferenceError, parseReference } from "../src/index.js";

const D = `sha256:${"a".repeat(64)}`;

// Expected values written from docker's normalisation rules (distribution/reference), not from our output.
const valid: Array<[string, string]> = [
  ["busybox", "docker.io/library/busybox:latest"],
  ["busybox:1.36", "docker.io/library/busybox:1.36"],
  ["library/busybox", "docker.io/library/busybox:latest"],
  ["docker.io/busybox", "docker.io/library/busybox:latest"],
  ["index.docker.io/busybox", "docker.io/library/busybox:latest"],
  ["registry-1.docker.io/library/busybox", "docker.io/library/busybox:latest"],
  ["docker.io/bitnami/redis:7", "docker.io/bitnami/redis:7"],
  ["someuser/app", "docker.io/someuser/app:latest"],
  ["ghcr.io/owner/repo/sub:tag", "ghcr.io/owner/repo/sub:tag"],
  ["localhost/app", "localhost/app:latest"],
  ["localhost:5000/app:v1", "localhost:5000/app:v1"],
  ["127.0.0.1:5000/test/busybox:multi", "127.0.0.1:5000/test/busybox:multi"],
  ["[::1]:5000/app", "[::1]:5000/app:latest"],
  ["Example.com/app", "Example.com/app:latest"],
  ["localhost:5000", "docker.io/library/localhost:5000"],
  [`busybox@${D}`, `docker.io/library/busybox@${D}`],
  [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
  ["a/b__c/d-e.f_g:T_a.g-1", "docker.io/a/b__c/d-e.f_g:T_a.g-1"],
  ["foo/a--b", "docker.io/foo/a--b:latest"],
];

const invalid: Array<[string, RegExp]> = [
  ["", /empty/],
  ["Busybox", /lowercase/],
  ["docker.io/Library/busybox", /lowercase/],
  ["busybox:", /invalid tag ""/],
  [`busybox:${"t".repeat(129)}`, /invalid tag/],
  ["busybox:-x", /invalid tag/],
  ["busybox@sha256:abc", /invalid digest/],
  [`busybox@md5:${"a".repeat(32)}`, /invalid digest/],
  ["a//b", /empty path component/],
  ["a/b/", /empty path component/],
  ["-a/b", /invalid path component "-a"/],
  ["a_/b", /invalid path component "a_"/],
  ["a...b", /invalid path component/],
  ["bad_host:5000/x", /invalid registry/],
  [`@${D}`, /missing repository/],
  [":tag", /missing repository/],
  ["busy box", /whitespace/],
  ["a".repeat(64).replace(/a/g, "f"), /image ID/],
  [`example.com/${"a".repeat(250)}`, /too long/],
];

describe("parseReference", () => {
  it.each(valid)("%s → %s", (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  it.each(invalid)("rejects %j", (input, reason) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidReferenceError);
    expect(err).toMatchObject({ code: "MOLT_INVALID_REFERENCE", reference: input });
    expect((err as Error).message).toMatch(reason);
  });

  it("keeps a reference without a tag when asked", () => {
    expect(parseReference("busybox", { defaultTag: false })).toEqual({
      registry: "docker.io",
      repository: "library/busybox",
    });
  });

  it("shortens to docker's familiar form", () => {
    expect(familiarReference(parseReference("busybox"))).toBe("busybox:latest");
    expect(familiarReference(parseReference("someuser/app:1"))).toBe("someuser/app:1");
    expect(familiarReference(parseReference("docker.io/library/a/b"))).toBe("library/a/b:latest");
    expect(familiarReference(parseReference(`ghcr.io/o/r@${D}`))).toBe(`ghcr.io/o/r@${D}`);
  });
});
