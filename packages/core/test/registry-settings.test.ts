import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseReference } from "@molt/oci";
import { expect, test } from "vitest";
import { registryClientOptions } from "../src/registry/client-options.js";

const dest = [parseReference("push.example:5000/app:1")];
const bases = ["pull.example/base:1", "docker.io/library/alpine", "scratch"];

test('"*" stands for the hosts of each direction, and pull settings never reach a push', () => {
  const o = registryClientOptions(
    { context: ".", registries: { "*": { pull: { insecure: true }, push: { skipTlsVerify: true } } } },
    dest,
    bases,
  );
  expect(o.pull).toEqual({ insecure: ["pull.example", "docker.io"], skipTlsVerify: [] });
  expect(o.push).toEqual({ insecure: [], skipTlsVerify: ["push.example:5000"] });
});

test("a host's top-level settings apply to both directions; other hosts stay verified", () => {
  const o = registryClientOptions(
    {
      context: ".",
      registries: { "pull.example": { insecure: true }, "push.example:5000": { push: { insecure: true } } },
    },
    dest,
    bases,
  );
  expect(o.pull).toEqual({ insecure: ["pull.example"], skipTlsVerify: [] });
  expect(o.push).toEqual({ insecure: ["pull.example", "push.example:5000"], skipTlsVerify: [] });
  expect(o.tls).toBeUndefined();
});

test("no registries: nothing is weakened", () => {
  const o = registryClientOptions({ context: "." }, dest, bases);
  expect(o.pull).toEqual({ insecure: [], skipTlsVerify: [] });
  expect(o.push).toEqual({ insecure: [], skipTlsVerify: [] });
});

test("CA and client certificate files are read when the options are made; PEM text is taken as is", async () => {
  const dir = await mkdtemp(join(tmpdir(), "molt-reg-settings-"));
  try {
    await writeFile(join(dir, "ca.pem"), "CA FILE");
    await writeFile(join(dir, "c.pem"), "CERT");
    await writeFile(join(dir, "k.pem"), "KEY");
    const o = registryClientOptions(
      {
        context: ".",
        registries: {
          "a.example": { caFile: join(dir, "ca.pem"), ca: "CA TEXT" },
          "b.example": { certFile: join(dir, "c.pem"), keyFile: join(dir, "k.pem") },
        },
      },
      dest,
      bases,
    );
    expect(o.tls?.["a.example"]?.ca).toEqual(["CA TEXT", Buffer.from("CA FILE")]);
    expect(o.tls?.["b.example"]).toEqual({ cert: Buffer.from("CERT"), key: Buffer.from("KEY") });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
