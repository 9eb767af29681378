import { network } from "hardhat";
import { JsonRpcProvider } from "ethers";

/** Hardhat's in-process chain served over real JSON-RPC on loopback, so bots in other processes can use it. */
export interface InProcessChain {
  rpcUrl: string;
  provider: JsonRpcProvider;
  close(): Promise<void>;
}

export async function startInProcessChain(pollingIntervalMs = 100): Promise<InProcessChain> {
  const server = await network.createServer(undefined, "127.0.0.1", 0);
  const { address, port } = await server.listen();
  const rpcUrl = `http://${address}:${port}`;
  // cacheTimeout -1: ethers otherwise reuses a nonce read for 250 ms, and back-to-back transactions collide.
  const provider = new JsonRpcProvider(rpcUrl, undefined, {
    polling: true,
    pollingInterval: pollingIntervalMs,
    cacheTimeout: -1,
  });
  return {
    rpcUrl,
    provider,
    close: async () => {
      provider.destroy();
      await server.close();
    },
  };
}
