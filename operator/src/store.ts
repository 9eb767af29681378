import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import type { Logger } from "pino";
import { OperatorError } from "./errors.js";

/** Where the operator is with one request. The chain stays the source of truth; this makes restarts idempotent. */
export type JobState =
  | "seen" // event observed, nothing sent
  | "claiming" // claim tx recorded, not yet confirmed
  | "claimed"
  | "submitting"
  | "submitted"
  | "finalizing"
  | "fulfilling" // fulfill tx recorded (an instant module: settles in that transaction), not yet confirmed
  | "done" // finalized or refunded on-chain (re-checked until `confirmations` deep)
  | "skipped"; // not ours (claimed by another operator), or a request we will not serve

export interface Job {
  requestId: bigint;
  modelId: bigint;
  mode: number;
  state: JobState;
  input: string; // 0x hex of the inline input (empty when given by URI)
  inputHash: string;
  inputURI: string;
  output: string | null;
  proof: string | null;
  lastTx: string | null;
  note: string | null;
  createdBlock: number;
  updatedAt: number;
  /** Consecutive failed attempts (reset on progress); drives the backoff. */
  failures: number;
  /** Unix ms before which the job is not retried. */
  retryAt: number;
  /** Block of the settlement the job was marked done at (0 before). */
  settledBlock: number;
}

/** A transaction as signed and recorded before it was broadcast. */
export interface TxRecord {
  hash: string;
  key: string;
  requestId: bigint | null;
  action: string;
  nonce: number;
  raw: string;
  status: "pending" | "mined" | "reverted" | "replaced" | "dropped";
  sentAt: number;
  block: number | null;
}

interface JobRow {
  request_id: string;
  model_id: string;
  mode: number;
  state: JobState;
  input: string;
  input_hash: string;
  input_uri: string;
  output: string | null;
  proof: string | null;
  last_tx: string | null;
  note: string | null;
  created_block: number;
  updated_at: number;
  failures: number;
  retry_at: number;
  settled_block: number;
}

interface TxRow {
  hash: string;
  key: string;
  request_id: string | null;
  action: string;
  nonce: number;
  raw: string;
  status: TxRecord["status"];
  sent_at: number;
  block: number | null;
}

/** Another process holds the store (same key and store would double-send). */
export class StoreLockedError extends OperatorError {}

const SCHEMA_VERSION = 2;

/**
 * The operator's embedded state: jobs keyed by request id, the block cursor (number and hash) per stream,
 * and every transaction signed (raw bytes kept, so a crash between signing and broadcasting replays the
 * same transaction, never a second one). SQLite (node:sqlite) in WAL mode; every write is one statement
 * or one transaction. A store that is not a healthy database is moved aside and rebuilt from the chain; a
 * lock file refuses a second process on the same store.
 */
export class OperatorStore {
  private readonly db: DatabaseSync;
  private readonly lockPath: string | undefined;
  /** Set when the store was found damaged and replaced by an empty one at open. */
  readonly recoveredFrom: string | undefined;

  constructor(path: string, options: { log?: Logger; lock?: boolean } = {}) {
    this.lockPath = options.lock === true && path !== ":memory:" ? `${path}.lock` : undefined;
    if (this.lockPath !== undefined) acquireLock(this.lockPath);
    let moved: string | undefined;
    let db: DatabaseSync;
    try {
      db = openHealthy(path);
    } catch (cause) {
      if (path === ":memory:") throw cause;
      moved = `${path}.corrupt-${Date.now()}`;
      for (const suffix of ["", "-wal", "-shm"]) {
        if (existsSync(path + suffix)) renameSync(path + suffix, moved + suffix);
      }
      options.log?.error({ path, movedTo: moved, err: cause }, "store damaged: moved aside, rebuilding from the chain");
      db = openHealthy(path);
    }
    this.db = db;
    this.recoveredFrom = moved;
    migrate(db);
  }

  /** Records a newly seen request; returns false when it was already known (idempotent replay). */
  addJob(
    job: Pick<Job, "requestId" | "modelId" | "mode" | "input" | "inputHash" | "inputURI" | "createdBlock">,
  ): boolean {
    const known = this.getJob(job.requestId);
    if (known !== undefined) {
      // A reorg can re-create a request id with other contents: take the new one while nothing was sent.
      if (known.inputHash !== job.inputHash && (known.state === "seen" || known.state === "skipped")) {
        this.db
          .prepare(
            `UPDATE jobs SET model_id = ?, mode = ?, state = 'seen', input = ?, input_hash = ?, input_uri = ?,
             created_block = ?, note = 'recreated', failures = 0, retry_at = 0, updated_at = ? WHERE request_id = ?`,
          )
          .run(
            job.modelId.toString(),
            job.mode,
            job.input,
            job.inputHash,
            job.inputURI,
            job.createdBlock,
            Date.now(),
            job.requestId.toString(),
          );
        return true;
      }
      return false;
    }
    this.db
      .prepare(
        `INSERT INTO jobs (request_id, model_id, mode, state, input, input_hash, input_uri, created_block, updated_at)
         VALUES (?, ?, ?, 'seen', ?, ?, ?, ?, ?)`,
      )
      .run(
        job.requestId.toString(),
        job.modelId.toString(),
        job.mode,
        job.input,
        job.inputHash,
        job.inputURI,
        job.createdBlock,
        Date.now(),
      );
    return true;
  }

  getJob(requestId: bigint): Job | undefined {
    const row = this.db.prepare("SELECT * FROM jobs WHERE request_id = ?").get(requestId.toString()) as
      JobRow | undefined;
    return row === undefined ? undefined : toJob(row);
  }

  /** Jobs not yet done or skipped, oldest first: the work to resume after a restart. */
  pendingJobs(): Job[] {
    const rows = this.db
      .prepare("SELECT * FROM jobs WHERE state NOT IN ('done', 'skipped') ORDER BY CAST(request_id AS INTEGER)")
      .all() as unknown as JobRow[];
    return rows.map(toJob);
  }

  /** Done jobs settled after `block`: not yet deep enough to be sure a reorg cannot undo them. */
  recentlyDone(afterBlock: number): Job[] {
    const rows = this.db
      .prepare("SELECT * FROM jobs WHERE state = 'done' AND settled_block > ? ORDER BY CAST(request_id AS INTEGER)")
      .all(afterBlock) as unknown as JobRow[];
    return rows.map(toJob);
  }

  countByState(): Record<string, number> {
    const rows = this.db.prepare("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").all() as unknown as {
      state: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Age (ms) of the oldest job this operator holds (claimed, not yet settled), or 0. */
  oldestHeldJobAgeMs(now = Date.now()): number {
    const row = this.db
      .prepare(
        "SELECT MIN(updated_at) AS t FROM jobs WHERE state IN ('claiming', 'claimed', 'submitting', 'submitted', 'finalizing', 'fulfilling')",
      )
      .get() as { t: number | null };
    return row.t === null ? 0 : Math.max(0, now - Number(row.t));
  }

  update(
    requestId: bigint,
    changes: Partial<
      Pick<Job, "state" | "output" | "proof" | "lastTx" | "note" | "failures" | "retryAt" | "settledBlock">
    >,
  ): void {
    const sets: string[] = [];
    const values: (string | number | null)[] = [];
    const columns: Record<string, string> = {
      state: "state",
      output: "output",
      proof: "proof",
      lastTx: "last_tx",
      note: "note",
      failures: "failures",
      retryAt: "retry_at",
      settledBlock: "settled_block",
    };
    for (const [key, value] of Object.entries(changes)) {
      const column = columns[key];
      if (column === undefined || value === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(value as string | number | null);
    }
    sets.push("updated_at = ?");
    values.push(Date.now());
    this.db.prepare(`UPDATE jobs SET ${sets.join(", ")} WHERE request_id = ?`).run(...values, requestId.toString());
  }

  // ---------------------------------------------------------------- transactions

  /** Records a signed transaction before it is broadcast (and the job's state with it, atomically). */
  recordTx(tx: Omit<TxRecord, "status" | "sentAt" | "block">, jobState?: JobState): void {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO txs (hash, request_id, action, sent_at, key, nonce, raw, status, block)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', NULL)`,
        )
        .run(tx.hash, tx.requestId?.toString() ?? "", tx.action, Date.now(), tx.key, tx.nonce, tx.raw);
      if (tx.requestId !== null && jobState !== undefined) {
        this.db
          .prepare("UPDATE jobs SET state = ?, last_tx = ?, updated_at = ? WHERE request_id = ?")
          .run(jobState, tx.hash, Date.now(), tx.requestId.toString());
      }
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  setTxStatus(hash: string, status: TxRecord["status"], block: number | null = null): void {
    this.db.prepare("UPDATE txs SET status = ?, block = ? WHERE hash = ?").run(status, block, hash);
  }

  /** The transactions of one idempotency key, newest first. */
  txsForKey(key: string): TxRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM txs WHERE key = ? ORDER BY sent_at DESC, rowid DESC")
      .all(key) as unknown as TxRow[];
    return rows.map(toTx);
  }

  /** Transactions still pending (signed, maybe broadcast, not known mined), oldest first. */
  pendingTxs(): TxRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM txs WHERE status = 'pending' ORDER BY nonce, sent_at")
      .all() as unknown as TxRow[];
    return rows.map(toTx);
  }

  /**
   * Transactions at `nonce` or above that may hold their nonce (pending, or once mined or reverted: a
   * reorganisation can take them back), by nonce and newest first.
   */
  txsFromNonce(nonce: number): TxRecord[] {
    const rows = this.db
      .prepare(
        "SELECT * FROM txs WHERE nonce >= ? AND status IN ('pending', 'mined', 'reverted') ORDER BY nonce, sent_at DESC, rowid DESC",
      )
      .all(nonce) as unknown as TxRow[];
    return rows.map(toTx);
  }

  txCount(requestId: bigint, action: string): number {
    const row = this.db
      .prepare("SELECT COUNT(*) AS n FROM txs WHERE request_id = ? AND action = ?")
      .get(requestId.toString(), action) as { n: number };
    return Number(row.n);
  }

  // ---------------------------------------------------------------- cursors

  getCursor(stream: string): number | undefined {
    return this.getCursorAt(stream)?.block;
  }

  /** The last block a stream scanned and that block's hash (to notice a reorganisation under it). */
  getCursorAt(stream: string): { block: number; hash: string | null } | undefined {
    const row = this.db.prepare("SELECT block, hash FROM cursors WHERE stream = ?").get(stream) as
      { block: number; hash: string | null } | undefined;
    return row === undefined ? undefined : { block: Number(row.block), hash: row.hash };
  }

  setCursor(stream: string, block: number, hash: string | null = null): void {
    this.db.prepare("INSERT OR REPLACE INTO cursors (stream, block, hash) VALUES (?, ?, ?)").run(stream, block, hash);
  }

  /** The SQLite handle, for roles that keep state in tables of their own. */
  get database(): DatabaseSync {
    return this.db;
  }

  close(): void {
    this.db.close();
    if (this.lockPath !== undefined) rmSync(this.lockPath, { force: true });
  }
}

/** Opens the database and proves it is one (header, pages): throws on a damaged file. */
function openHealthy(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
    if (check.length !== 1 || check[0]!.quick_check !== "ok") {
      throw new OperatorError(`store integrity check failed: ${JSON.stringify(check).slice(0, 200)}`);
    }
    return db;
  } catch (error) {
    try {
      db.close();
    } catch {
      // already unusable
    }
    throw error;
  }
}

function migrate(db: DatabaseSync): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS jobs (
      request_id TEXT PRIMARY KEY,
      model_id TEXT NOT NULL,
      mode INTEGER NOT NULL,
      state TEXT NOT NULL,
      input TEXT NOT NULL,
      input_hash TEXT NOT NULL,
      input_uri TEXT NOT NULL,
      output TEXT,
      proof TEXT,
      last_tx TEXT,
      note TEXT,
      created_block INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
    CREATE TABLE IF NOT EXISTS cursors (stream TEXT PRIMARY KEY, block INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS txs (
      hash TEXT PRIMARY KEY,
      request_id TEXT NOT NULL,
      action TEXT NOT NULL,
      sent_at INTEGER NOT NULL
    );
  `);
  const version = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  if (version < 2) {
    const add = (table: string, column: string, type: string) => {
      const cols = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    };
    add("jobs", "failures", "INTEGER NOT NULL DEFAULT 0");
    add("jobs", "retry_at", "INTEGER NOT NULL DEFAULT 0");
    add("jobs", "settled_block", "INTEGER NOT NULL DEFAULT 0");
    add("cursors", "hash", "TEXT");
    add("txs", "key", "TEXT NOT NULL DEFAULT ''");
    add("txs", "nonce", "INTEGER NOT NULL DEFAULT -1");
    add("txs", "raw", "TEXT NOT NULL DEFAULT ''");
    add("txs", "status", "TEXT NOT NULL DEFAULT 'mined'");
    add("txs", "block", "INTEGER");
    db.exec("CREATE INDEX IF NOT EXISTS txs_key ON txs(key); CREATE INDEX IF NOT EXISTS txs_status ON txs(status);");
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  }
}

/** A lock file holding the owner's pid; a stale one (its process gone) is taken over. */
function acquireLock(lockPath: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
      const pid = Number(readFileSync(lockPath, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new StoreLockedError(
          `store is in use by process ${pid} (${lockPath}); two operators on one store would double-send`,
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new StoreLockedError(`cannot take ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

function toJob(row: JobRow): Job {
  return {
    requestId: BigInt(row.request_id),
    modelId: BigInt(row.model_id),
    mode: Number(row.mode),
    state: row.state,
    input: row.input,
    inputHash: row.input_hash,
    inputURI: row.input_uri,
    output: row.output,
    proof: row.proof,
    lastTx: row.last_tx,
    note: row.note,
    createdBlock: Number(row.created_block),
    updatedAt: Number(row.updated_at),
    failures: Number(row.failures ?? 0),
    retryAt: Number(row.retry_at ?? 0),
    settledBlock: Number(row.settled_block ?? 0),
  };
}

function toTx(row: TxRow): TxRecord {
  return {
    hash: row.hash,
    key: row.key,
    requestId: row.request_id === null || row.request_id === "" ? null : BigInt(row.request_id),
    action: row.action,
    nonce: Number(row.nonce),
    raw: row.raw,
    status: row.status,
    sentAt: Number(row.sent_at),
    block: row.block === null ? null : Number(row.block),
  };
}
