/**
 * A JSON-RPC proxy that injects faults between a bot and its node, for the reliability drill: malformed or
 * truncated replies, replies that hang past the client's timeout, connection resets, outages (connections
 * refused), and transactions swallowed on their way to the node (the reply says "sent", the node never
 * hears of it). Faults are switched at run time; every request is counted by what was done to it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Transaction } from "ethers";

export interface Faults {
  /** Share of replies replaced by malformed JSON. */
  malformed?: number;
  /** Share of replies held for `hangMs` (longer than the client's timeout). */
  hang?: number;
  hangMs?: number;
  /** Share of requests whose connection is destroyed without a reply. */
  reset?: number;
  /** Every request refused while set (the node looks down). */
  outage?: boolean;
  /** Share of eth_sendRawTransaction calls answered with the hash but never forwarded. */
  dropTx?: number;
}

export class FaultProxy {
  private faults: Faults = {};
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  readonly counts = { forwarded: 0, malformed: 0, hung: 0, reset: 0, refused: 0, droppedTx: 0 };
  private seed = 0x5eed;

  constructor(private readonly upstream: string) {}

  /** Starts listening on a free loopback port; returns the proxy's URL. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      if (this.faults.outage) {
        this.counts.refused++;
        socket.destroy();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  set(faults: Faults): void {
    this.faults = faults;
    if (faults.outage) for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A deterministic pseudo-random number in [0, 1) (drills repeat). */
  private random(): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed / 0x80000000;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const f = this.faults;
    if (f.outage) {
      this.counts.refused++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    if (f.reset !== undefined && this.random() < f.reset) {
      this.counts.reset++;
      req.socket.destroy();
      return;
    }
    let parsed: { id?: unknown; method?: string; params?: unknown[] } | undefined;
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (parsed?.method === "eth_sendRawTransaction" && f.dropTx !== undefined && this.random() < f.dropTx) {
      this.counts.droppedTx++;
      const hash = Transaction.from(String(parsed.params?.[0])).hash;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: parsed.id, result: hash }));
      return;
    }
    let reply: string;
    let status = 200;
    try {
      const upstream = await fetch(this.upstream, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      status = upstream.status;
      reply = await upstream.text();
    } catch {
      this.counts.refused++;
      req.socket.destroy();
      return;
    }
    if (f.hang !== undefined && this.random() < f.hang) {
      this.counts.hung++;
      await new Promise((r) => setTimeout(r, f.hangMs ?? 30_000));
    }
    if (f.malformed !== undefined && this.random() < f.malformed) {
      this.counts.malformed++;
      // Truncated JSON with a valid-looking start: a parser sees garbage, not an error object.
      reply = reply.slice(0, Math.max(1, Math.floor(reply.length / 2))) + "\u0000<html>";
    }
    this.counts.forwarded++;
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(reply);
  }
}
