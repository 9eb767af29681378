import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

// Hardhat cannot download compilers on machines without internet access, so the
// compiler is the WebAssembly build shipped in the npm `solc` package (pinned).
const SOLC_VERSION = "0.8.28";
const solcPath = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: solcPath,
        settings: {
          optimizer: { enabled: true, runs: 200 },
          evmVersion: "cancun",
        },
      },
      production: {
        version: SOLC_VERSION,
        path: solcPath,
        settings: {
          optimizer: { enabled: true, runs: 200 },
          evmVersion: "cancun",
        },
      },
    },
  },
  paths: {
    tests: { mocha: "test", solidity: "test/solidity" },
  },
  test: {
    solidity: {
      fuzz: { runs: 256, seed: "0x7665726966796d6c" },
      invariant: { runs: 64, depth: 32, failOnRevert: false },
    },
  },
  typechain: { outDir: "types/ethers-contracts" },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    // LOCALHOST_RPC_URL: a node on another port (the e2e tests run theirs on a free one).
    localhost: { type: "http", chainType: "l1", url: process.env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545" },
    sepolia: {
      type: "http",
      chainType: "l1",
      url: configVariable("SEPOLIA_RPC_URL"),
      accounts: [configVariable("SEPOLIA_PRIVATE_KEY")],
    },
  },
});
