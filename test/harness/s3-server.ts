import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { crc32 } from "node:zlib";

/**
 * A stand-in for Amazon S3's REST API, just enough for reading objects: `HEAD` and `GET
 * /{bucket}/{key}` (path-style), with `ETag`, `If-Match` (412 `PreconditionFailed`), `NoSuchKey`
 * 404s and `x-amz-checksum-crc32` (so the AWS SDK validates the body). Every request must carry
 * a valid AWS Signature Version 4 `Authorization` header, checked as S3 does: the canonical
 * request (method, URI, sorted query, signed headers, `x-amz-content-sha256`), the string to
 * sign over `x-amz-date` and the credential scope, and the HMAC-SHA256 key chain of the
 * secret; a wrong signature is a 403 `SignatureDoesNotMatch`, an unknown key a 403
 * `InvalidAccessKeyId`. Written from AWS's public S3 API and SigV4 references; no
 * S3-compatible server is packaged in Debian 12 (radosgw needs a Ceph cluster).
 */
export interface S3StandIn {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Every request seen, with whether its signature verified. */
  requests: { method: string; url: string; signed: boolean; region?: string }[];
  put(bucket: string, key: string, data: Buffer): void;
  stop(): Promise<void>;
}

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** S3's URI encoding of a path (each segment, `/` kept) or a query component. */
function uriEncode(s: string, keepSlash: boolean): string {
  let out = "";
  for (const ch of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${ch.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/xml" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}

/** Verifies a SigV4 `Authorization` header (exported for its test vector); returns the scope's region, or an S3 error code. */
export function verifySigV4(
  req: Pick<IncomingMessage, "headers" | "method" | "url">,
  accessKeyId: string,
  secret: string,
): { region: string } | { error: string } {
  const auth = req.headers.authorization ?? "";
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return { error: "AccessDenied" };
  const [, akid, date, region, signedHeaders, signature] = m as unknown as string[];
  if (akid !== accessKeyId) return { error: "InvalidAccessKeyId" };
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(date!)) return { error: "SignatureDoesNotMatch" };
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? "");
  if (!payloadHash) return { error: "InvalidRequest" };
  const url = new URL(req.url ?? "/", "http://x");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = signedHeaders!.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) return { error: "SignatureDoesNotMatch" };
  const headers = names
    .map((n) => {
      const v = req.headers[n];
      const value = Array.isArray(v) ? v.join(",") : (v ?? "");
      return `${n}:${value.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  // S3 signs the path as sent (already URI-encoded once by the client), not re-encoded.
  const canonical = [req.method, url.pathname, query, headers, signedHeaders, payloadHash].join("\n");
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), "s3"), "aws4_request");
  const expected = createHmac("sha256", key).update(toSign).digest("hex");
  return expected === signature ? { region: region! } : { error: "SignatureDoesNotMatch" };
}

/** Starts the stand-in on a free loopback port with one access key. */
export async function startS3StandIn(
  accessKeyId = "AKIAMOLTTEST000000",
  secretAccessKey = "molt/test/secret/key/0123456789abcdefghij",
): Promise<S3StandIn> {
  const objects = new Map<string, { data: Buffer; etag: string; modified: string }>();
  const requests: S3StandIn["requests"] = [];
  const server: Server = createServer((req, res) => {
    const v = verifySigV4(req, accessKeyId, secretAccessKey);
    requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      signed: !("error" in v),
      ...("region" in v ? { region: v.region } : {}),
    });
    req.resume();
    if ("error" in v)
      return xmlError(
        res,
        403,
        v.error,
        "The request signature we calculated does not match the signature you provided.",
      );
    if (req.method !== "GET" && req.method !== "HEAD")
      return xmlError(res, 405, "MethodNotAllowed", "not supported here");
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
    const obj = objects.get(path);
    if (!obj) {
      if (req.method === "HEAD") {
        res.writeHead(404);
        return res.end();
      }
      return xmlError(res, 404, "NoSuchKey", "The specified key does not exist.");
    }
    const ifMatch = req.headers["if-match"];
    if (ifMatch && ifMatch !== obj.etag)
      return xmlError(
        res,
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
      );
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(obj.data));
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": obj.data.length,
      etag: obj.etag,
      "last-modified": obj.modified,
      "accept-ranges": "bytes",
      ...(req.headers["x-amz-checksum-mode"] === "ENABLED"
        ? { "x-amz-checksum-crc32": crc.toString("base64") }
        : {}),
    });
    res.end(req.method === "HEAD" ? undefined : obj.data);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId,
    secretAccessKey,
    requests,
    put(bucket, key, data) {
      objects.set(`${bucket}/${key}`, {
        data,
        etag: `"${createHash("md5").update(data).digest("hex")}"`,
        modified: new Date().toUTCString(),
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
