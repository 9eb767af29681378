import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createServer } from "node:net";

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Starts `hardhat node` as its own OS process and waits until it answers JSON-RPC. */
export async function startHardhatNode(timeoutMs = 60_000): Promise<{ child: ChildProcess; rpcUrl: string }> {
  const port = await freePort();
  // The package exports no path to its CLI; the project root is the working directory of every script.
  const cli = path.resolve("node_modules/hardhat/dist/src/cli.js");
  const child = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const rpcUrl = `http://127.0.0.1:${port}`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited early: ${stderr}`);
    try {
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) return { child, rpcUrl };
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`hardhat node not answering on ${rpcUrl}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
