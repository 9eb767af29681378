// A static file server over a directory, standing in for an artifact host or an IPFS gateway.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export interface StaticServer {
  url: string;
  /** Paths requested so far. */
  requests: string[];
  /** Answer every request with this status instead (null: serve files). */
  failWith: number | null;
  close(): Promise<void>;
}

/** Serves `root` under `/` (and under `/ipfs/<cid>/`, as a gateway would) on a free loopback port. */
export async function serveDirectory(root: string): Promise<StaticServer> {
  const state: StaticServer = { url: "", requests: [], failWith: null, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    state.requests.push(urlPath);
    if (state.failWith !== null) {
      res.writeHead(state.failWith).end();
      return;
    }
    const relative = urlPath.replace(/^\/ipfs\/[^/]+\//, "/").replace(/^\/+/, "");
    const file = path.resolve(root, relative);
    if (!file.startsWith(path.resolve(root)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
