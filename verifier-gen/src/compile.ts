/**
 * Compiles a build's Solidity verifier with the pinned solc (the npm `solc` WebAssembly build, the same
 * compiler and settings as hardhat.config.ts) and records the exact bytecode in the build (`verifier.json`).
 * The deployed verifier is that bytecode, so its code hash is known before deployment: the registry config
 * pins it, and an operator accepts a model's verifier only when the pinned hash is its own build's. A
 * verifier that merely claims the model's hash (and refuses proofs, or accepts only some) has another hash.
 */
import { createRequire } from "node:module";
import { keccak256 } from "ethers";
import { IntegrityError } from "./errors.js";

export const SOLC_SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" } as const;

export interface VerifierArtifact {
  contractName: string;
  compiler: { version: string; settings: typeof SOLC_SETTINGS };
  abi: unknown[];
  /** Creation bytecode (0x hex). */
  bytecode: string;
  /** Runtime bytecode: the deployed code (the verifier has no immutables). */
  deployedBytecode: string;
  /** keccak256 of the deployed code: what a ZkConfig pins. */
  codeHash: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >;
}

const require = createRequire(import.meta.url);

/** Compiles `sources` (file name -> Solidity) and returns the artifact of `contractName` in `file`. */
export function compileVerifier(sources: Record<string, string>, file: string, contractName: string): VerifierArtifact {
  const solc = require("solc") as { compile(input: string): string; version(): string };
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      ...SOLC_SETTINGS,
      outputSelection: { [file]: { [contractName]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new IntegrityError(`solc: ${errors.map((e) => e.formattedMessage).join("\n")}`);
  const c = output.contracts?.[file]?.[contractName];
  if (c === undefined) throw new IntegrityError(`solc produced no ${contractName} in ${file}`);
  const deployedBytecode = `0x${c.evm.deployedBytecode.object}`;
  return {
    contractName,
    compiler: { version: solc.version(), settings: SOLC_SETTINGS },
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode,
    codeHash: keccak256(deployedBytecode),
  };
}
