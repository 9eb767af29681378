// Runs the `veriml` CLI as its own process against a chain, as a user would.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CliResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/**
 * `veriml <args> --rpc-url <rpcUrl> [--market <market> | --deployment <id>]`, signing with `key` (null: no key
 * at all); `env` adds to the environment (a keystore, for instance).
 */
export async function veriml(
  args: string[],
  chain: { rpcUrl: string; market?: string; deployment?: string } | null,
  key: string | null,
  extraEnv: Record<string, string> = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: "1" };
  delete env.VERIML_REQUESTER_KEY;
  delete env.VERIML_REQUESTER_KEYSTORE;
  if (key !== null) env.VERIML_REQUESTER_KEY = key;
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        "operator/bin/veriml.js",
        ...args,
        ...(chain === null ? [] : ["--rpc-url", chain.rpcUrl]),
        ...(chain?.market === undefined ? [] : ["--market", chain.market]),
        ...(chain?.deployment === undefined ? [] : ["--deployment", chain.deployment]),
      ],
      { env: { ...env, ...extraEnv } },
    );
    return { ok: true, stdout, stderr };
  } catch (error) {
    const e = error as { stdout: string; stderr: string };
    return { ok: false, stdout: e.stdout, stderr: e.stderr };
  }
}
