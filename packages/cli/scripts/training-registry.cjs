// An in-memory container registry (the OCI distribution API's subset a `molt build` uses: manifests
// by tag or digest, blobs, chunked and monolithic uploads, cross-repository mounts), serving a
// one-layer base image at HOST/train/base:1, for the training build of scripts/code-cache.cjs.
// That build pulls its base from here and pushes to here, in the process that makes the code
// cache, so that the functions a real build runs (the registry client and undici's request path,
// layer extraction, COPY, the layer writer, the push) are compiled when the cache is written and
// come out of it at every start, instead of being compiled lazily during every build (issue 16).
// Build-time only: never part of the bundle. Its sockets are unref'ed so that the training
// process's `beforeExit` (where the cache is written) still fires when the build is done.
"use strict";
const { createHash, randomUUID } = require("node:crypto");
const { createServer } = require("node:http");
const { gzipSync } = require("node:zlib");

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** `sha256:<hex>` of some bytes. */
function digestOf(bytes) {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** One ustar entry (header and body padded to 512 bytes): a directory (type "5") or a file ("0"). */
function tarEntry(name, type, mode, body = Buffer.alloc(0)) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write(`${mode.toString(8).padStart(7, "0")}\0`, 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
  h.write(`${(1700000000).toString(8).padStart(11, "0")}\0`, 136);
  h.write("        ", 148);
  h.write(type, 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

/**
 * A static Linux executable that exits 0 (the `exit` system call and nothing else: an ELF header,
 * one loadable segment and 10-16 bytes of code), for this machine's architecture (x64 or arm64),
 * so that the training build can RUN a command in a base image that has no libc; `undefined`
 * on other architectures.
 */
function exitZeroElf(arch = process.arch) {
  const code = {
    // xor edi, edi; mov eax, 60 (exit); syscall
    x64: [0x3e, Buffer.from([0x31, 0xff, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05])],
    // mov x0, #0; mov x8, #93 (exit); svc #0
    arm64: [0xb7, Buffer.from([0x00, 0x00, 0x80, 0xd2, 0xa8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4])],
  }[arch];
  if (!code) return undefined;
  const [machine, text] = code;
  const base = 0x400000n;
  const size = 64 + 56 + text.length;
  const elf = Buffer.alloc(size);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELF, 64-bit, little-endian, version 1
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(machine, 18);
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(base + 120n, 24); // entry: the code after the two headers
  elf.writeBigUInt64LE(64n, 32); // program headers at 64
  elf.writeUInt16LE(64, 52);
  elf.writeUInt16LE(56, 54);
  elf.writeUInt16LE(1, 56);
  elf.writeUInt32LE(1, 64); // PT_LOAD
  elf.writeUInt32LE(5, 68); // R + X
  elf.writeBigUInt64LE(base, 80);
  elf.writeBigUInt64LE(base, 88);
  elf.writeBigUInt64LE(BigInt(size), 96);
  elf.writeBigUInt64LE(BigInt(size), 104);
  elf.writeBigUInt64LE(0x1000n, 112);
  text.copy(elf, 120);
  return elf;
}

/**
 * The base image's only layer, gzip-compressed: /etc with passwd and group, /tmp, and /bin with
 * `true` ({@link exitZeroElf}) where this architecture has one.
 */
function baseLayer() {
  const elf = exitZeroElf();
  const tar = Buffer.concat([
    tarEntry("etc/", "5", 0o755),
    tarEntry("etc/passwd", "0", 0o644, Buffer.from("root:x:0:0:root:/root:/bin/sh\n")),
    tarEntry("etc/group", "0", 0o644, Buffer.from("root:x:0:\n")),
    tarEntry("bin/", "5", 0o755),
    ...(elf ? [tarEntry("bin/true", "0", 0o755, elf)] : []),
    tarEntry("tmp/", "5", 0o1777),
    Buffer.alloc(1024),
  ]);
  return { tar, gz: gzipSync(tar) };
}

/**
 * Starts the registry on a free loopback port. Returns `host` (`127.0.0.1:PORT`), the base
 * image's reference (`base`) and `close()`.
 */
function startTrainingRegistry() {
  const blobs = new Map();
  const manifests = new Map();
  const uploads = new Map();
  const elf = exitZeroElf();
  const layer = baseLayer();
  blobs.set(digestOf(layer.gz), layer.gz);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Env: ["PATH=/bin"], Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: [digestOf(layer.tar)] },
    }),
  );
  blobs.set(digestOf(config), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: digestOf(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: digestOf(layer.gz),
          size: layer.gz.length,
        },
      ],
    }),
  );
  const putManifest = (repo, ref, type, body) => {
    const entry = { type, body, digest: digestOf(body) };
    manifests.set(`${repo}:${ref}`, entry);
    manifests.set(`${repo}@${entry.digest}`, entry);
    return entry;
  };
  putManifest("train/base", "1", OCI_MANIFEST, manifest);

  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, `http://${host}`);
      const send = (status, headers = {}, data) => {
        res.writeHead(status, { "Docker-Distribution-API-Version": "registry/2.0", ...headers });
        res.end(req.method === "HEAD" ? undefined : data);
      };
      const blobHeaders = (digest, size) => ({
        "Content-Type": "application/octet-stream",
        "Content-Length": size,
        "Docker-Content-Digest": digest,
      });
      let m;
      if (url.pathname === "/v2/" || url.pathname === "/v2") return send(200, {}, "{}");
      if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname))) {
        const [, repo, ref] = m;
        const key = ref.startsWith("sha256:") ? `${repo}@${ref}` : `${repo}:${ref}`;
        if (req.method === "PUT") {
          const e = putManifest(repo, ref, req.headers["content-type"] ?? OCI_MANIFEST, body);
          return send(201, {
            Location: `/v2/${repo}/manifests/${e.digest}`,
            "Docker-Content-Digest": e.digest,
          });
        }
        const e = manifests.get(key);
        if (!e)
          return send(
            404,
            { "Content-Type": "application/json" },
            '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}',
          );
        return send(
          200,
          { "Content-Type": e.type, "Content-Length": e.body.length, "Docker-Content-Digest": e.digest },
          e.body,
        );
      }
      if ((m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(url.pathname)) && req.method === "POST") {
        const repo = m[1];
        const mount = url.searchParams.get("mount");
        if (mount && blobs.has(mount))
          return send(201, { Location: `/v2/${repo}/blobs/${mount}`, "Docker-Content-Digest": mount });
        const digest = url.searchParams.get("digest");
        if (digest) {
          blobs.set(digest, body);
          return send(201, { Location: `/v2/${repo}/blobs/${digest}`, "Docker-Content-Digest": digest });
        }
        const id = randomUUID();
        uploads.set(id, [body]);
        return send(202, {
          Location: `/v2/${repo}/blobs/uploads/${id}`,
          Range: "0-0",
          "Docker-Upload-UUID": id,
          "Content-Length": 0,
        });
      }
      if ((m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(url.pathname))) {
        const [, repo, id] = m;
        const parts = uploads.get(id);
        if (!parts) return send(404, {}, '{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}');
        if (req.method === "DELETE") {
          uploads.delete(id);
          return send(204);
        }
        parts.push(body);
        const size = parts.reduce((n, p) => n + p.length, 0);
        if (req.method === "PUT") {
          const data = Buffer.concat(parts);
          const digest = url.searchParams.get("digest");
          uploads.delete(id);
          if (digest !== digestOf(data)) return send(400, {}, '{"errors":[{"code":"DIGEST_INVALID"}]}');
          blobs.set(digest, data);
          return send(201, { Location: `/v2/${repo}/blobs/${digest}`, "Docker-Content-Digest": digest });
        }
        return send(202, {
          Location: `/v2/${repo}/blobs/uploads/${id}`,
          Range: `0-${Math.max(0, size - 1)}`,
          "Docker-Upload-UUID": id,
          "Content-Length": 0,
        });
      }
      if ((m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname))) {
        const data = blobs.get(m[2]);
        if (!data) return send(404, {}, '{"errors":[{"code":"BLOB_UNKNOWN"}]}');
        return send(200, blobHeaders(m[2], data.length), data);
      }
      return send(404, {}, '{"errors":[{"code":"UNSUPPORTED"}]}');
    });
  });
  server.on("connection", (socket) => socket.unref());
  let host;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.unref();
      host = `127.0.0.1:${server.address().port}`;
      resolve({ host, base: `${host}/train/base:1`, canRun: elf !== undefined, close: () => server.close() });
    });
  });
}

module.exports = { startTrainingRegistry, exitZeroElf };
