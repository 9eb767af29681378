// Runs the Hardhat CLI as its own process (`hardhat ignition deploy`, `hardhat run`), as the README does.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `hardhat <args>` in the project root with `env` added; resolves with stdout, rejects with stderr. */
export async function hardhat(args: string[], env: Record<string, string>): Promise<string> {
  const cli = path.resolve("node_modules/hardhat/dist/src/cli.js");
  try {
    const { stdout } = await run(process.execPath, [cli, ...args], {
      env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`hardhat ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}
