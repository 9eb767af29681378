/**
 * The web app's server: Vite serving app/ (the page), plus what a page cannot reach by itself on a local
 * node: the chain's JSON-RPC (proxied, same origin), Ignition's deployment record of the suite, and the
 * files of builds registered with a `file:` artifact URI. It holds no key and answers nothing the page
 * trusts blindly: the page checks every build against the modelHash registered on chain, and the record
 * against the chain it names.
 */
import { createReadStream } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createServer, type Plugin, type ViteDevServer } from "vite";
import type { Logger } from "pino";
import { deploymentDir } from "../../operator/src/deployment.js";

const APP_ROOT = fileURLToPath(new URL("..", import.meta.url));
const PROJECT_ROOT = path.resolve(APP_ROOT, "..");

/** What the page is told at start (GET /api/config). */
export interface AppConfig {
  /** The Ignition deployment of the suite, by id (served at /api/deployment/...). */
  deploymentId: string;
  /** The chain id the node reports, so the page can refuse a wallet on another network before anything. */
  chainId: string;
  /** A local development node: the page may sign with its unlocked accounts and move its clock. */
  local: boolean;
  /** An IPFS HTTP gateway for ipfs:// artifact URIs, when there is one. */
  ipfsGateway?: string;
}

export interface AppServerOptions {
  /** JSON-RPC URL of the node (proxied at /rpc). */
  rpcUrl: string;
  deploymentId: string;
  /** Directories whose files may be served for `file:` artifact URIs (default: the project's models/ and .veriml/builds). */
  artifactRoots?: string[];
  port?: number;
  host?: string;
  ipfsGateway?: string;
  log: Logger;
}

/** The files of a build the page reads (the others, proving keys and circuits, are the operators' business). */
const SERVED_BUILD_FILES = new Set(["manifest.json", "intgraph.json", "verification_key.json", "verifier.json"]);
const RECORD_FILES = new Set(["deployed_addresses.json", "journal.jsonl"]);

function send(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.statusCode = status;
  res.setHeader("content-type", type);
  res.setHeader("cache-control", "no-store");
  res.end(body);
}

async function rpcChainId(rpcUrl: string): Promise<string> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
  });
  const { result } = (await response.json()) as { result: string };
  return BigInt(result).toString();
}

/**
 * The Vite plugin: /api/config, /api/deployment/<file>, /api/file?path=<absolute path>, /api/examples/<model>,
 * /api/bench/<file>.
 */
export function verimlApi(options: AppServerOptions): Plugin {
  const roots = (
    options.artifactRoots ?? [path.join(PROJECT_ROOT, "models"), path.join(PROJECT_ROOT, ".veriml", "builds")]
  ).map((r) => path.resolve(r));
  const record = path.resolve(PROJECT_ROOT, deploymentDir(options.deploymentId));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://app");
    if (req.method !== "GET" || !url.pathname.startsWith("/api/")) return false;
    if (url.pathname === "/api/config") {
      const config: AppConfig = {
        deploymentId: options.deploymentId,
        chainId: await rpcChainId(options.rpcUrl),
        local: true,
        ...(options.ipfsGateway === undefined ? {} : { ipfsGateway: options.ipfsGateway }),
      };
      send(res, 200, JSON.stringify(config), "application/json");
      return true;
    }
    const recordFile = /^\/api\/deployment\/([a-z_.]+)$/.exec(url.pathname)?.[1];
    if (recordFile !== undefined) {
      if (!RECORD_FILES.has(recordFile)) return (send(res, 404, "not a deployment record file"), true);
      const text = await readFile(path.join(record, recordFile), "utf8").catch(() => null);
      if (text === null) send(res, 404, `no ${recordFile} in ${path.relative(PROJECT_ROOT, record)}`);
      else send(res, 200, text, recordFile.endsWith(".json") ? "application/json" : "text/plain");
      return true;
    }
    if (url.pathname === "/api/file") {
      // A file of a build registered as file:<dir>, only under the allowed roots and only the page's files.
      const requested = url.searchParams.get("path") ?? "";
      if (!path.isAbsolute(requested) || !SERVED_BUILD_FILES.has(path.basename(requested))) {
        return (
          send(res, 403, "only manifest.json, intgraph.json, verification_key.json and verifier.json of a build"),
          true
        );
      }
      const real = await realpath(requested).catch(() => null);
      if (real === null) return (send(res, 404, `no such file ${requested}`), true);
      if (!roots.some((root) => real.startsWith(root + path.sep))) {
        return (send(res, 403, `${requested} is outside the directories this server serves builds from`), true);
      }
      const info = await stat(real);
      res.statusCode = 200;
      res.setHeader("content-type", "application/json");
      res.setHeader("content-length", String(info.size));
      createReadStream(real).pipe(res);
      return true;
    }
    const example = /^\/api\/examples\/([A-Za-z0-9_-]+)$/.exec(url.pathname)?.[1];
    if (example !== undefined) {
      // Held-out rows of the model's dataset (the PyTorch fixtures' own, the digits test split).
      const file = /^digits/.test(example)
        ? path.join(PROJECT_ROOT, "data", "digits-test.json")
        : path.join(PROJECT_ROOT, "models", "pytorch", `${example}.json`);
      const text = await readFile(file, "utf8").catch(() => null);
      if (text === null) return (send(res, 404, `no examples for ${example}`), true);
      const data = JSON.parse(text) as { inputs: number[][]; labels?: number[] };
      const n = 12;
      send(
        res,
        200,
        JSON.stringify({ inputs: data.inputs.slice(0, n), labels: data.labels?.slice(0, n) }),
        "application/json",
      );
      return true;
    }
    const benchFile = /^\/api\/bench\/([a-z-]+\.json)$/.exec(url.pathname)?.[1];
    if (benchFile !== undefined) {
      const text = await readFile(path.join(PROJECT_ROOT, "bench", "results", benchFile), "utf8").catch(() => null);
      if (text === null) send(res, 404, `no bench/results/${benchFile}`);
      else send(res, 200, text, "application/json");
      return true;
    }
    send(res, 404, "unknown endpoint");
    return true;
  };
  return {
    name: "veriml-api",
    configureServer(server: ViteDevServer) {
      server.middlewares.use((req, res, next) => {
        handle(req, res).then(
          (done) => (done ? undefined : next()),
          (error: unknown) => {
            options.log.error({ err: error, url: req.url }, "app api request failed");
            if (!res.headersSent) send(res, 500, (error as Error).message);
          },
        );
      });
    },
  };
}

export interface AppServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the page's server (Vite in development mode: builds on request, no build step). */
export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const server = await createServer({
    configFile: path.join(APP_ROOT, "vite.config.ts"),
    root: APP_ROOT,
    logLevel: "warn",
    clearScreen: false,
    plugins: [verimlApi(options)],
    server: {
      port: options.port ?? 5173,
      host: options.host ?? "127.0.0.1",
      strictPort: options.port !== undefined && options.port !== 0,
      proxy: { "/rpc": { target: options.rpcUrl, changeOrigin: true, rewrite: () => "/" } },
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (typeof address !== "object" || address === null) throw new Error("the app server is not listening");
  return { url: `http://${options.host ?? "127.0.0.1"}:${address.port}/`, close: () => server.close() };
}
