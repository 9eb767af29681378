import type { Logger } from "pino";
import {
  QualityModule__factory,
  RandaoRandomness__factory,
  SamplingModule__factory,
  type RandaoRandomness,
} from "../../../types/ethers-contracts/index.js";
import { isTransient, withRetry } from "../chain/retry.js";
import { fulfilRandomness } from "../chain/randomness.js";
import { sendCall } from "../chain/tx-sender.js";
import type { Role, RoleContext } from "./role.js";

const MODE_SAMPLING = 2;
const MODE_QUALITY = 3;
const ZERO = "0x0000000000000000000000000000000000000000";

interface PendingRow {
  source: string;
  requester: string;
  key: string;
}

/**
 * Delivers the RANDAO randomness the operator's duties wait for (sampling decisions and draws, committee
 * draws): it watches RandomnessRequested of the randomness sources of the sampling and quality modules and,
 * once a request's blocks exist, sends their headers (`fulfil`). Only requests of those modules and of the
 * arbitrators the sampling module allows are served, so a stranger cannot make the bot pay for its requests.
 * Pending requests live in SQLite; a request another keeper fulfilled first, or one that expired, is dropped.
 */
export class RandomnessKeeper implements Role {
  readonly name = "randomness";
  private readonly log: Logger;
  private sources: RandaoRandomness[] | undefined;
  private readonly trusted = new Map<string, boolean>();

  constructor(private readonly ctx: RoleContext) {
    this.log = ctx.log.child({ ns: this.name });
    ctx.store.database.exec(`CREATE TABLE IF NOT EXISTS randomness_pending (
      source TEXT NOT NULL, requester TEXT NOT NULL, key TEXT NOT NULL, target INTEGER NOT NULL,
      PRIMARY KEY (source, requester, key))`);
  }

  /** The RANDAO sources the modules use (a module with another kind of source needs no keeper). */
  private async randaoSources(): Promise<RandaoRandomness[]> {
    if (this.sources !== undefined) return this.sources;
    const { registry, provider, retry } = this.ctx;
    const found = new Set<string>();
    const modules: [number, (address: string) => { randomnessSource(): Promise<string> }][] = [
      [MODE_SAMPLING, (a) => SamplingModule__factory.connect(a, provider)],
      [MODE_QUALITY, (a) => QualityModule__factory.connect(a, provider)],
    ];
    for (const [mode, connect] of modules) {
      const module = await withRetry("moduleOf", () => registry.moduleOf(mode), retry, this.log);
      if (module === ZERO) continue;
      this.trusted.set(module.toLowerCase(), true);
      const source = await withRetry("randomnessSource", () => connect(module).randomnessSource(), retry, this.log);
      try {
        await RandaoRandomness__factory.connect(source, provider).blocks();
        found.add(source.toLowerCase());
      } catch (error) {
        if (isTransient(error)) throw error; // otherwise not a RANDAO source: nothing to deliver
      }
    }
    this.sources = [...found].map((a) => RandaoRandomness__factory.connect(a, this.ctx.signer));
    return this.sources;
  }

  /** Whether requests of `requester` are ours to deliver: a module, or an arbitrator the sampling module allows. */
  private async isTrusted(requester: string): Promise<boolean> {
    const key = requester.toLowerCase();
    const known = this.trusted.get(key);
    if (known !== undefined) return known;
    const { registry, provider, retry } = this.ctx;
    const sampling = await withRetry("moduleOf", () => registry.moduleOf(MODE_SAMPLING), retry, this.log);
    const allowed =
      sampling !== ZERO &&
      (await withRetry(
        "isArbitratorAllowed",
        () => SamplingModule__factory.connect(sampling, provider).isArbitratorAllowed(requester),
        retry,
        this.log,
      ));
    this.trusted.set(key, allowed);
    return allowed;
  }

  async scan(fromBlock: number, toBlock: number): Promise<void> {
    const insert = this.ctx.store.database.prepare(
      "INSERT OR IGNORE INTO randomness_pending (source, requester, key, target) VALUES (?, ?, ?, ?)",
    );
    for (const source of await this.randaoSources()) {
      const events = await withRetry(
        "getLogs RandomnessRequested",
        () => source.queryFilter(source.filters.RandomnessRequested(), fromBlock, toBlock),
        this.ctx.retry,
        this.log,
      );
      for (const e of events) {
        if (!(await this.isTrusted(e.args.requester))) continue;
        insert.run(await source.getAddress(), e.args.requester, e.args.key, Number(e.args.readyAtBlock));
      }
    }
  }

  async work(): Promise<void> {
    const db = this.ctx.store.database;
    const rows = db.prepare("SELECT source, requester, key FROM randomness_pending").all() as unknown as PendingRow[];
    if (rows.length === 0) return;
    const head = await withRetry("blockNumber", () => this.ctx.provider.getBlockNumber(), this.ctx.retry, this.log);
    const drop = db.prepare("DELETE FROM randomness_pending WHERE source = ? AND requester = ? AND key = ?");
    for (const row of rows) {
      const source = RandaoRandomness__factory.connect(row.source, this.ctx.signer);
      try {
        if ((await source.isReady(row.requester, row.key)) || (await source.isExpired(row.requester, row.key))) {
          drop.run(row.source, row.requester, row.key);
          continue;
        }
        const target = Number(await source.targetBlock(row.requester, row.key));
        if (head < target + Number(await source.blocks())) continue;
        if (
          await fulfilRandomness(row.source, this.ctx.signer, row.requester, row.key, (build) =>
            sendCall(this.ctx.tx, "fulfil", build),
          )
        ) {
          this.log.info({ requester: row.requester, key: row.key }, "randomness delivered");
          this.ctx.metrics.inc("randomness_fulfilled");
        }
        drop.run(row.source, row.requester, row.key);
      } catch (error) {
        // Another keeper may have delivered it first; the next pass sees it ready and drops it.
        this.log.warn({ key: row.key, err: error }, "randomness delivery failed; will retry");
      }
    }
  }
}
