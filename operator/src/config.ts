import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { z } from "zod";
import { ConfigError } from "./errors.js";
import { resolvePrivateKey } from "./keys.js";
import { QualityModelSchema } from "./quality/config.js";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an 0x-prefixed 20-byte address");
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "an 0x-prefixed 32-byte private key");

/** One model the operator serves, and where its artifacts are. */
const modelSchema = z
  .object({
    modelId: z.coerce.bigint().positive(),
    /** Directory of the model's build (integer graph, circuit, keys) as written by verifier-gen; when absent,
     * the build is fetched from the model's registered artifactURI and checked against its modelHash. */
    artifacts: z.string().min(1).optional(),
    /** Verification modes this operator takes requests of, for this model. */
    modes: z.array(z.number().int().min(0).max(7)).min(1),
    /** Quality mode (PoQ): generator backend (worker) and cross-encoder (validator). */
    quality: QualityModelSchema.optional(),
    /**
     * zk with a batch build (one proof of k requests): how long the oldest waiting request waits for others
     * (default 2000 ms), and how many requests one proof takes (default and at most the build's k).
     */
    batchWindowMs: z.coerce.number().int().nonnegative().optional(),
    maxBatch: z.coerce.number().int().positive().optional(),
    /**
     * zk mode: "open" (default) proves an open request and settles it with one `fulfill`; "claim" claims it
     * first (two transactions, but a copy of the pending fulfill cannot be paid to someone else: use it on a
     * public mempool without a private transaction relay).
     */
    zkSettlement: z.enum(["open", "claim"]).default("open"),
  })
  .strict();

export const configSchema = z
  .object({
    rpcUrl: z.string().url(),
    /** Hex private key, from the environment (VERIML_OPERATOR_KEY) rather than a file; or a keystore. */
    privateKey: privateKey.optional(),
    /** An encrypted JSON keystore and the file holding its password (prompted for when absent). */
    keystore: z
      .object({ path: z.string().min(1), passwordFile: z.string().min(1).optional() })
      .strict()
      .optional(),
    /** The market; when absent, the one in the Ignition deployment record (`deployment`, default chain-<id>). */
    market: address.optional(),
    /** An Ignition deployment id or directory (ignition/deployments/<id>) to read the market from. */
    deployment: z.string().min(1).optional(),
    roles: z.array(z.enum(["worker", "challenger", "sampler", "validator"])).min(1),
    models: z.array(modelSchema).min(1),
    /** SQLite file holding the operator's own state and block cursor. */
    storePath: z.string().min(1),
    /** First block to scan when the store has no cursor yet. */
    startBlock: z.coerce.number().int().nonnegative().default(0),
    pollIntervalMs: z.coerce.number().int().positive().default(1000),
    /** Blocks to scan per eth_getLogs call during catch-up. */
    logBatchBlocks: z.coerce.number().int().positive().default(2000),
    confirmations: z.coerce.number().int().nonnegative().default(0),
    /** Deepest reorganisation survived: settlements are re-checked until this deep, the cursor rewinds twice it. */
    reorgDepth: z.coerce.number().int().positive().default(12),
    /** Stake to top up to at start (wei, as a decimal string); 0 keeps what is staked. */
    stakeWei: z.coerce.bigint().nonnegative().default(0n),
    gas: z
      .object({
        maxFeePerGasGwei: z.coerce.number().positive().optional(),
        maxPriorityFeePerGasGwei: z.coerce.number().nonnegative().optional(),
      })
      .strict()
      .default({}),
    retry: z
      .object({
        attempts: z.coerce.number().int().positive().default(5),
        baseDelayMs: z.coerce.number().int().positive().default(250),
      })
      .strict()
      .default({}),
    /** Proofs run at once (default: the machine's cores). */
    provers: z.coerce.number().int().positive().default(Math.max(1, availableParallelism())),
    /** Claimed-but-unproved requests above which no new one is claimed. */
    maxBacklog: z.coerce.number().int().positive().default(4),
    /** Every JSON-RPC call fails after this long (a hung node must not freeze the bot). */
    rpcTimeoutMs: z.coerce.number().int().positive().default(10_000),
    /** Transactions: replaced (same nonce, higher fees) when not mined after replaceAfterMs. */
    tx: z
      .object({
        replaceAfterMs: z.coerce.number().int().positive().default(15_000),
        waitMs: z.coerce.number().int().positive().default(60_000),
        pollMs: z.coerce.number().int().positive().default(250),
        urgentFeeMultiplier: z.coerce.number().min(1).default(3),
      })
      .strict()
      .default({}),
    /** Terms this operator accepts before claiming (clocks and windows it must act within). */
    policy: z
      .object({
        minClockSeconds: z.coerce.number().int().positive().default(300),
        minWindowSeconds: z.coerce.number().int().positive().default(300),
      })
      .strict()
      .default({}),
    /** Where builds fetched from http(s) and ipfs artifact URIs are kept (one directory per modelHash). */
    artifactCacheDir: z.string().min(1).default(".veriml-cache"),
    /** An IPFS HTTP gateway for ipfs:// artifact URIs, e.g. http://127.0.0.1:8080. */
    ipfsGateway: z.string().url().optional(),
    /** Directory `file:` input URIs may point into; unset refuses them (requesters choose URIs). */
    inputFileRoot: z.string().min(1).optional(),
    metricsPort: z.coerce.number().int().min(0).max(65535).optional(),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
  })
  .strict();

/** A validated config whose key is resolved (a keystore decrypted). */
export type OperatorConfig = z.infer<typeof configSchema> & { privateKey: string };

/** Environment variables that override file settings (secrets belong here, not in files). */
const ENV_KEYS: Record<string, keyof OperatorConfig> = {
  VERIML_RPC_URL: "rpcUrl",
  VERIML_OPERATOR_KEY: "privateKey",
  VERIML_MARKET: "market",
  VERIML_DEPLOYMENT: "deployment",
  VERIML_STORE: "storePath",
  VERIML_METRICS_PORT: "metricsPort",
  VERIML_LOG_LEVEL: "logLevel",
};

/** The keys an object of the schema takes at `path` (for "did you mean"). */
function keysAt(path: readonly (string | number)[]): string[] {
  let schema: z.ZodTypeAny = configSchema;
  const unwrap = (s: z.ZodTypeAny): z.ZodTypeAny => {
    for (;;) {
      if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s._def.innerType;
      else if (s instanceof z.ZodEffects) s = s._def.schema;
      else return s;
    }
  };
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodArray) schema = schema.element as z.ZodTypeAny;
    else if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodTypeAny>)[String(segment)]!;
    if (schema === undefined) return [];
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        previous + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length]!;
}

/** One line a person can act on: where, what is wrong, and for a typo the key that was meant. */
function describeIssue(issue: z.ZodIssue): string {
  const where = issue.path.join(".") || "(root)";
  if (issue.code === "unrecognized_keys") {
    const known = keysAt(issue.path);
    return issue.keys
      .map((key) => {
        const best = known.map((k) => ({ k, d: editDistance(key, k) })).sort((x, y) => x.d - y.d)[0];
        const hint =
          best !== undefined && best.d <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean "${best.k}"?` : "";
        return `${issue.path.length === 0 ? "" : `${where}: `}unknown key "${key}"${hint}`;
      })
      .join("\n  ");
  }
  return `${where}: ${issue.message}`;
}

/**
 * Builds the config from a JSON file, then the environment, then flags (each overriding the one
 * before), and validates it. Unknown keys anywhere are rejected so a typo never silently falls back
 * to a default.
 */
export async function loadConfig(
  filePath: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: Record<string, unknown>,
): Promise<OperatorConfig> {
  let fromFile: Record<string, unknown> = {};
  if (filePath !== undefined) {
    let text: string;
    try {
      text = await readFile(filePath, "utf8");
    } catch (cause) {
      throw new ConfigError(`cannot read config file ${filePath}`, { cause });
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      throw new ConfigError(`config file ${filePath} is not valid JSON: ${(cause as Error).message}`, { cause });
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    if (env[name] !== undefined && env[name] !== "") fromEnv[key] = env[name];
  }
  if (env.VERIML_OPERATOR_KEYSTORE) {
    fromEnv.keystore = {
      path: env.VERIML_OPERATOR_KEYSTORE,
      ...(env.VERIML_OPERATOR_PASSWORD_FILE ? { passwordFile: env.VERIML_OPERATOR_PASSWORD_FILE } : {}),
    };
  }
  const definedFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const parsed = configSchema.safeParse({ ...fromFile, ...fromEnv, ...definedFlags });
  if (!parsed.success) {
    const where = filePath === undefined ? "" : ` (${filePath})`;
    const problems = parsed.error.issues.map((issue) => `  ${describeIssue(issue)}`).join("\n");
    throw new ConfigError(`invalid operator config${where}:\n${problems}`, { cause: parsed.error });
  }
  const key = await resolvePrivateKey(
    {
      privateKey: parsed.data.privateKey,
      keystore: parsed.data.keystore?.path,
      passwordFile: parsed.data.keystore?.passwordFile,
    },
    "operator",
  );
  if (key === undefined) {
    throw new ConfigError(
      'no operator key: set VERIML_OPERATOR_KEY, or a keystore (config "keystore" or VERIML_OPERATOR_KEYSTORE)',
    );
  }
  return { ...parsed.data, privateKey: key };
}

/** Validates a config given in code (scripts, tests): like loadConfig, with the key given directly. */
export function operatorConfig(input: unknown): OperatorConfig {
  const parsed = configSchema.parse(input);
  if (parsed.privateKey === undefined) throw new ConfigError("operatorConfig needs privateKey");
  return { ...parsed, privateKey: parsed.privateKey };
}
