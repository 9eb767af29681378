/**
 * Signing keys of the two roles, kept apart: the requester's (CLI commands that pay and withdraw) and the
 * operator's (the bot). Each comes from the environment as a hex key or from an encrypted JSON keystore
 * (the Web3 Secret Storage format that geth, Foundry and ethers write), decrypted with a password read from
 * a file or typed at a prompt, never from a command-line argument.
 */
import { readFile, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Wallet, isHexString } from "ethers";
import { ConfigError } from "./errors.js";

export type KeyRole = "requester" | "operator";

/** Environment variables of each role. */
export const KEY_ENV: Record<KeyRole, { key: string; keystore: string; passwordFile: string }> = {
  requester: {
    key: "VERIML_REQUESTER_KEY",
    keystore: "VERIML_REQUESTER_KEYSTORE",
    passwordFile: "VERIML_REQUESTER_PASSWORD_FILE",
  },
  operator: {
    key: "VERIML_OPERATOR_KEY",
    keystore: "VERIML_OPERATOR_KEYSTORE",
    passwordFile: "VERIML_OPERATOR_PASSWORD_FILE",
  },
};

export interface KeySource {
  privateKey?: string | undefined;
  keystore?: string | undefined;
  passwordFile?: string | undefined;
}

/** Asks for a password on the terminal without echoing it. */
export async function promptPassword(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new ConfigError(`${question.trim()} no terminal to ask on: give a password file`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  process.stderr.write(question);
  output._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}

/** A password kept in a file; a trailing newline is what an editor or `echo` leaves, not part of it. */
export async function readPasswordFile(file: string, what: string): Promise<string> {
  try {
    return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  } catch (cause) {
    throw new ConfigError(`cannot read the ${what} password file ${file}`, { cause });
  }
}

async function readPassword(source: KeySource, role: KeyRole): Promise<string> {
  if (source.passwordFile !== undefined) return readPasswordFile(source.passwordFile, role);
  return promptPassword(`password of the ${role} keystore ${source.keystore}: `);
}

/** The private key of `source` (decrypting a keystore), or undefined when it gives none. */
export async function resolvePrivateKey(source: KeySource, role: KeyRole): Promise<string | undefined> {
  if (source.privateKey !== undefined && source.privateKey !== "") {
    if (!isHexString(source.privateKey, 32)) {
      throw new ConfigError(`the ${role} key (${KEY_ENV[role].key}) is not an 0x-prefixed 32-byte hex key`);
    }
    return source.privateKey;
  }
  if (source.keystore === undefined || source.keystore === "") return undefined;
  let json: string;
  try {
    json = await readFile(source.keystore, "utf8");
  } catch (cause) {
    throw new ConfigError(`cannot read the ${role} keystore ${source.keystore}`, { cause });
  }
  const password = await readPassword(source, role);
  try {
    return (await Wallet.fromEncryptedJson(json, password)).privateKey;
  } catch (cause) {
    throw new ConfigError(
      `cannot decrypt the ${role} keystore ${source.keystore}: ${(cause as Error).message.split(" (")[0]}`,
      { cause },
    );
  }
}

/** The key source of a role from the environment. */
export function keySourceFromEnv(role: KeyRole, env: NodeJS.ProcessEnv): KeySource {
  const names = KEY_ENV[role];
  return { privateKey: env[names.key], keystore: env[names.keystore], passwordFile: env[names.passwordFile] };
}

/** Writes `privateKey` (a new random key when undefined) encrypted with `password`; returns its address. */
export async function writeKeystore(file: string, password: string, privateKey?: string): Promise<string> {
  if (password.length < 8) throw new ConfigError("a keystore password needs at least 8 characters");
  const wallet = privateKey === undefined ? Wallet.createRandom() : new Wallet(privateKey);
  await writeFile(file, await wallet.encrypt(password), { mode: 0o600, flag: "wx" }).catch((cause: unknown) => {
    throw new ConfigError(`cannot write ${file} (it must not exist yet)`, { cause });
  });
  return wallet.address;
}
