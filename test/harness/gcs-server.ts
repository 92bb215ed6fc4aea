import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for the Google Cloud Storage JSON API, just enough of it for object reads: the
 * object metadata call (`GET …/b/{bucket}/o/{object}`) and the media download
 * (`…?alt=media`, with `x-goog-hash` crc32c+md5 so the client library validates what it reads),
 * under both URL prefixes the library uses (`/storage/v1` for `apiEndpoint`, none for
 * `STORAGE_EMULATOR_HOST`). Written from the public JSON API reference; no GCS emulator runs here.
 */
export interface GcsStandIn {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** Every request seen: method, path and query as received. */
  requests: { method: string; url: string; authorization?: string }[];
  /** Stores an object (a new generation each time). */
  put(bucket: string, name: string, data: Buffer): void;
  /** Makes the next media download of `name` serve these bytes instead (to test corruption). */
  corruptNextDownload(name: string, data: Buffer): void;
  stop(): Promise<void>;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as GCS reports it: base64 of the big-endian 4 bytes. */
export function crc32cBase64(data: Buffer): string {
  let c = 0xffffffff;
  for (const b of data) c = (CRC32C_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}

interface StoredObject {
  data: Buffer;
  generation: string;
  updated: string;
}

/** Starts the stand-in on a free loopback port. */
export async function startGcsStandIn(): Promise<GcsStandIn> {
  const objects = new Map<string, StoredObject>();
  const corrupt = new Map<string, Buffer>();
  const requests: GcsStandIn["requests"] = [];
  let generation = 1_700_000_000_000_000;

  const error = (res: ServerResponse, code: number, message: string, reason: string) => {
    res.writeHead(code, { "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify({ error: { code, message, errors: [{ message, domain: "global", reason }] } }));
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const m = /^(?:\/download)?(?:\/storage\/v1)?\/b\/([^/]+)\/o\/([^/]+)$/.exec(u.pathname);
    if (req.method !== "GET" || !m) return error(res, 404, "Not Found", "notFound");
    const bucket = decodeURIComponent(m[1] as string);
    const name = decodeURIComponent(m[2] as string);
    const obj = objects.get(`${bucket}/${name}`);
    const wantGen = u.searchParams.get("generation");
    if (!obj || (wantGen !== null && wantGen !== obj.generation)) {
      return error(res, 404, `No such object: ${bucket}/${name}`, "notFound");
    }
    const crc32c = crc32cBase64(obj.data);
    const md5 = createHash("md5").update(obj.data).digest("base64");
    if (u.searchParams.get("alt") === "media") {
      const body = corrupt.get(name) ?? obj.data;
      corrupt.delete(name);
      res.writeHead(200, {
        "content-type": "application/gzip",
        "content-length": body.length,
        "x-goog-hash": `crc32c=${crc32c},md5=${md5}`,
        "x-goog-generation": obj.generation,
        "x-goog-metageneration": "1",
        "x-goog-stored-content-encoding": "identity",
        "x-goog-stored-content-length": String(obj.data.length),
      });
      return res.end(body);
    }
    res.writeHead(200, { "content-type": "application/json; charset=UTF-8" });
    res.end(
      JSON.stringify({
        kind: "storage#object",
        id: `${bucket}/${name}/${obj.generation}`,
        selfLink: `${endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
        mediaLink: `${endpoint}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?generation=${obj.generation}&alt=media`,
        name,
        bucket,
        generation: obj.generation,
        metageneration: "1",
        contentType: "application/gzip",
        storageClass: "STANDARD",
        size: String(obj.data.length),
        md5Hash: md5,
        crc32c,
        etag: `C${obj.generation}`,
        timeCreated: obj.updated,
        updated: obj.updated,
      }),
    );
  };

  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    put(bucket, name, data) {
      generation += 1;
      objects.set(`${bucket}/${name}`, {
        data,
        generation: String(generation),
        updated: new Date().toISOString(),
      });
    },
    corruptNextDownload(name, data) {
      corrupt.set(name, data);
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
