import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

/** Runs a program without writing to its stdin (which a quick exit would turn into EPIPE). */
const run = promisify(execFile);

/** A test certificate authority and a server (and client) certificate it signed. */
export interface TestPki {
  caCert: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCert: string;
  clientKey: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * Makes a CA with openssl, a server certificate for `127.0.0.1`/`localhost` and a client
 * certificate, all signed by that CA, in `dir`.
 */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const p = (f: string) => join(dir, f);
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=molt test CA",
  ]);
  for (const [name, cn, ext] of [
    ["server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"],
    ["client", "molt-client", "extendedKeyUsage=clientAuth\n"],
  ] as const) {
    await run("openssl", [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
      "-subj",
      `/CN=${cn}`,
    ]);
    await writeFile(p(`${name}.ext`), ext);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("ca.pem"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-out",
      p(`${name}.pem`),
      "-days",
      "2",
      "-extfile",
      p(`${name}.ext`),
    ]);
  }
  return {
    caCert: await readFile(p("ca.pem"), "utf8"),
    caFile: p("ca.pem"),
    serverCertFile: p("server.pem"),
    serverKeyFile: p("server.key"),
    clientCert: await readFile(p("client.pem"), "utf8"),
    clientKey: await readFile(p("client.key"), "utf8"),
    clientCertFile: p("client.pem"),
    clientKeyFile: p("client.key"),
  };
}
