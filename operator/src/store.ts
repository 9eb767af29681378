import { DatabaseSync } from "node:sqlite";

/** Where the operator is with one request. The chain stays the source of truth; this makes restarts idempotent. */
export type JobState =
  | "seen" // event observed, nothing sent
  | "claiming" // claim tx sent (hash recorded), not yet confirmed
  | "claimed"
  | "submitting"
  | "submitted"
  | "finalizing"
  | "done" // finalized or refunded on-chain
  | "skipped"; // not ours (claimed by another operator), or a bad request we will not serve

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
}

/**
 * The operator's embedded state: jobs keyed by request id, the block cursor per stream, and a
 * record of every transaction sent. Backed by SQLite (node:sqlite) in WAL mode; every write is a
 * single statement or one transaction, so a crash leaves either the old or the new state.
 */
export class OperatorStore {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
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
  }

  /** Records a newly seen request; returns false when it was already known (idempotent replay). */
  addJob(
    job: Pick<Job, "requestId" | "modelId" | "mode" | "input" | "inputHash" | "inputURI" | "createdBlock">,
  ): boolean {
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO jobs (request_id, model_id, mode, state, input, input_hash, input_uri, created_block, updated_at)
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
    return Number(result.changes) === 1;
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

  countByState(): Record<string, number> {
    const rows = this.db.prepare("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").all() as unknown as {
      state: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  update(requestId: bigint, changes: Partial<Pick<Job, "state" | "output" | "proof" | "lastTx" | "note">>): void {
    const sets: string[] = [];
    const values: (string | number | null)[] = [];
    const columns: Record<string, string> = {
      state: "state",
      output: "output",
      proof: "proof",
      lastTx: "last_tx",
      note: "note",
    };
    for (const [key, value] of Object.entries(changes)) {
      const column = columns[key];
      if (column === undefined || value === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(value as string | null);
    }
    sets.push("updated_at = ?");
    values.push(Date.now());
    this.db.prepare(`UPDATE jobs SET ${sets.join(", ")} WHERE request_id = ?`).run(...values, requestId.toString());
  }

  /** Records a sent transaction together with the job's new state, atomically. */
  recordTx(requestId: bigint, action: string, hash: string, state: JobState): void {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      this.db
        .prepare("INSERT OR REPLACE INTO txs (hash, request_id, action, sent_at) VALUES (?, ?, ?, ?)")
        .run(hash, requestId.toString(), action, Date.now());
      this.db
        .prepare("UPDATE jobs SET state = ?, last_tx = ?, updated_at = ? WHERE request_id = ?")
        .run(state, hash, Date.now(), requestId.toString());
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  txCount(requestId: bigint, action: string): number {
    const row = this.db
      .prepare("SELECT COUNT(*) AS n FROM txs WHERE request_id = ? AND action = ?")
      .get(requestId.toString(), action) as { n: number };
    return Number(row.n);
  }

  getCursor(stream: string): number | undefined {
    const row = this.db.prepare("SELECT block FROM cursors WHERE stream = ?").get(stream) as
      { block: number } | undefined;
    return row === undefined ? undefined : Number(row.block);
  }

  setCursor(stream: string, block: number): void {
    this.db.prepare("INSERT OR REPLACE INTO cursors (stream, block) VALUES (?, ?)").run(stream, block);
  }

  /** The SQLite handle, for roles that keep state in tables of their own. */
  get database(): DatabaseSync {
    return this.db;
  }

  close(): void {
    this.db.close();
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
  };
}
