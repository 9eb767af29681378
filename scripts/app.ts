/**
 * `npm run app`: the web app against a local chain, with nothing else to start: a `hardhat node`, the suite
 * deployed with Ignition, models registered, operator and validator processes, the demo's optimistic cheat
 * (its dispute plays out while you look), and the page. Prints the URL; Ctrl-C stops everything.
 *
 *   npm run app                 APP_PORT=5173 (default), APP_NO_CHEAT=1 skips the staged dispute
 */
import { pino } from "pino";
import { startAppStack } from "./lib/app-stack.js";

const log = pino({ level: process.env.LOG_LEVEL ?? "info", transport: undefined });
const stack = await startAppStack({
  deploymentId: "app-local",
  workDir: ".veriml/app",
  port: Number(process.env.APP_PORT ?? 5173),
  cheat: process.env.APP_NO_CHEAT !== "1",
  log,
});
process.stdout.write(
  `\nveriml web app: ${stack.url}\n` +
    `  chain ${stack.rpcUrl} (chain 31337), suite deployment ignition/deployments/${stack.deploymentId}\n` +
    `  models: digits_mlp #${stack.ids.digits} (zk, optimistic, sampling), its batch-4 build #${stack.ids.digitsBatch} (zk), iris_mlp #${stack.ids.iris} (zk), arith_generator #${stack.ids.quality} (quality)\n` +
    `  sign in the page as a development account (#2 holds ETH and DUSD), or with a browser wallet on chain 31337 at ${stack.rpcUrl}\n` +
    (stack.cheat
      ? `  request ${stack.cheat.requestId} is the demo's optimistic cheat: see Operators & disputes\n`
      : "") +
    `  operator logs: ${stack.logs.join(", ")}\n  Ctrl-C stops the chain, the operators and the page.\n`,
);
await new Promise<void>((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
});
await stack.close();
process.exit(0);
