import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A loopback HTTP server serving fixed files (for `ADD <url>` tests). */
export interface HttpFiles {
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `files` (path → bytes) on 127.0.0.1 with a fixed `Last-Modified`, 404 for anything else.
 * Reachable from builders using the host network (`--network host`).
 */
export async function serveFiles(files: Record<string, Buffer | string>): Promise<HttpFiles> {
  const server = createServer((req, res) => {
    const body = files[(req.url ?? "").split("?")[0]!];
    if (body === undefined) {
      res.writeHead(404).end("not found\n");
      return;
    }
    const b = Buffer.from(body);
    res.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": b.length,
      "Last-Modified": "Wed, 01 Jan 2020 00:00:00 GMT",
    });
    res.end(req.method === "HEAD" ? undefined : b);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
