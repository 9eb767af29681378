/**
 * Every transaction of the operator goes through here: sign, record, then broadcast; every wait has a
 * deadline; a transaction not mined in time is replaced at the same nonce with higher fees, up to a
 * ceiling that rises as the duty's deadline nears; a dropped one is broadcast again. Each send has an
 * idempotency key (e.g. "claim:42"): a send after a crash resumes the recorded transaction instead of
 * making a second one, and a key whose transaction was mined is never sent again.
 */
import {
  Transaction,
  concat,
  keccak256,
  type AbstractSigner,
  type ContractTransaction,
  type Provider,
  type TransactionReceipt,
} from "ethers";
import type { Logger } from "pino";
import { OperatorError } from "../errors.js";
import type { OperatorStore, TxRecord } from "../store.js";
import { classify } from "./errors.js";
import { sleep } from "./retry.js";

export interface TxPolicy {
  /** How often to look for a receipt. */
  pollMs: number;
  /** Replace (same nonce, higher fees) a transaction not mined after this long. */
  replaceAfterMs: number;
  /** Longest one `send` waits before giving the caller back a TxPendingError (the transaction stays). */
  waitMs: number;
  /** Normal ceiling of the max fee per gas (wei); unset: 3x the fee estimate at first send. */
  maxFeePerGas?: bigint;
  /** Fixed priority fee (wei); unset: the node's estimate. */
  maxPriorityFeePerGas?: bigint;
  /** The ceiling is multiplied up to this factor as the deadline nears. */
  urgentFeeMultiplier: number;
}

export const DEFAULT_TX_POLICY: TxPolicy = {
  pollMs: 250,
  replaceAfterMs: 15_000,
  waitMs: 60_000,
  urgentFeeMultiplier: 3,
};

export interface SendRequest {
  /** Idempotency key: one logical transaction (e.g. `claim:42`). */
  key: string;
  action: string;
  requestId?: bigint;
  /** The call (to, data, value), built fresh when a new transaction is needed. */
  build: () => Promise<ContractTransaction>;
  /** Unix seconds by which the transaction must be mined (fees may rise towards it). */
  deadline?: number;
  /** Job state recorded with the signed transaction. */
  jobState?: Parameters<OperatorStore["recordTx"]>[1];
  /** Whether a key whose transaction was mined returns that receipt instead of sending again (default true). */
  reuseMined?: boolean;
}

/** The transaction is recorded and broadcast but not mined within the wait: call `send` again later. */
export class TxPendingError extends OperatorError {}
/** The transaction was mined and reverted. */
export class TxRevertedError extends OperatorError {
  constructor(
    message: string,
    readonly receipt: TransactionReceipt,
  ) {
    super(message);
  }
}

/** Serialises nonce assignment; everything else (waits) runs concurrently. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * Sends a one-off call of a role (a move, a vote, a delivery) through `tx`: keyed by the call itself, so
 * a send after a crash resumes the same pending transaction; once mined, the same call may be sent again
 * later (the chain state decides whether it is wanted).
 */
export async function sendCall(
  tx: TxSender,
  action: string,
  build: () => Promise<ContractTransaction>,
  requestId?: bigint,
): Promise<TransactionReceipt> {
  const call = await build();
  const key = `${action}:${keccak256(concat([call.to, call.data]))}`;
  return tx.send({
    key,
    action,
    build: async () => call,
    reuseMined: false,
    ...(requestId === undefined ? {} : { requestId }),
  });
}

export class TxSender {
  private readonly nonceLock = new Mutex();
  private nextNonce: number | undefined;
  private readonly provider: Provider;

  constructor(
    private readonly signer: AbstractSigner,
    private readonly store: OperatorStore,
    private readonly policy: TxPolicy,
    private readonly log: Logger,
  ) {
    if (signer.provider === null) throw new OperatorError("the signer has no provider");
    this.provider = signer.provider;
  }

  /** Pending transactions recorded but not known mined (a gauge). */
  pendingCount(): number {
    return this.store.pendingTxs().length;
  }

  /**
   * Sends (or resumes) the transaction of `req.key` and waits for its receipt, at most `policy.waitMs`.
   * Throws TxRevertedError when it was mined and reverted, TxPendingError when still pending, or the
   * classified error of building/estimating it (a revert there means the chain refuses the call now).
   */
  async send(req: SendRequest): Promise<TransactionReceipt> {
    const recorded = this.store.txsForKey(req.key);
    const pending = recorded.filter((t) => t.status === "pending");
    if (pending.length > 0) return this.await(req, pending[0]!.nonce);
    const mined = recorded.find((t) => t.status === "mined");
    if (mined !== undefined) {
      const receipt = await this.provider.getTransactionReceipt(mined.hash);
      if (receipt === null) {
        const from = await this.signer.getAddress();
        if ((await this.provider.getTransactionCount(from, "latest")) <= mined.nonce) {
          // A reorganisation took it back and its nonce is free again: the same signed transaction goes
          // back in, in its place in our order (a new one could land before the calls it depends on).
          this.store.setTxStatus(mined.hash, "pending");
          this.log.warn(
            { action: req.action, tx: mined.hash },
            "transaction taken back by a reorganisation; re-broadcasting",
          );
          this.lastRepair = 0;
          await this.repairNonces();
          return this.await(req, mined.nonce);
        }
        // Its nonce went to another transaction in the new branch (and the node knows nothing of it: not a
        // lagging backend): the call is open again.
        if ((await this.provider.getTransaction(mined.hash)) !== null) return this.await(req, mined.nonce);
        this.store.setTxStatus(mined.hash, "dropped");
      } else if (receipt.status === 1 && req.reuseMined !== false) return receipt;
    }
    const call = await req.build();
    const from = await this.signer.getAddress();
    const gasLimit = ((await this.provider.estimateGas({ ...call, from })) * 12n) / 10n + 10_000n;
    const fees = await this.initialFees(req.deadline);
    await this.nonceLock.run(async () => {
      const nonce = await this.allocateNonce();
      const tx = await this.sign({ ...call, from, gasLimit, nonce, ...fees });
      this.store.recordTx({ ...tx, key: req.key, requestId: req.requestId ?? null, action: req.action }, req.jobState);
      const accepted = await this.broadcast(tx.raw);
      // A broadcast the node certainly rejected leaves the nonce free; any other outcome keeps it ours.
      if (accepted === "gap") {
        // An earlier transaction of ours is missing at the node: this one stays recorded and the repair
        // re-sends the run in order.
        this.nextNonce = nonce + 1;
        return;
      }
      if (accepted === "rejected") {
        this.store.setTxStatus(tx.hash, "dropped");
        throw new TxPendingError(`${req.action}: the node rejected the transaction; it will be rebuilt`);
      }
      this.nextNonce = nonce + 1;
      this.log.info({ action: req.action, requestId: req.requestId, tx: tx.hash, nonce }, "sent");
    });
    const first = this.store.txsForKey(req.key).find((t) => t.status === "pending");
    if (first === undefined) throw new TxPendingError(`${req.action}: nothing pending after send`);
    return this.await(req, first.nonce);
  }

  /** Broadcasts again every recorded pending transaction (after a restart): the node may never have had them. */
  async resume(): Promise<void> {
    for (const tx of this.store.pendingTxs()) {
      const receipt = await this.provider.getTransactionReceipt(tx.hash).catch(() => null);
      if (receipt !== null) {
        this.store.setTxStatus(tx.hash, receipt.status === 1 ? "mined" : "reverted", receipt.blockNumber);
        continue;
      }
      await this.broadcast(tx.raw);
    }
  }

  /**
   * Waits for the key's transaction, replacing it when slow and re-broadcasting (in nonce order, after
   * closing any gap) when the node does not have it.
   */
  private async await(req: SendRequest, _nonce: number): Promise<TransactionReceipt> {
    const started = Date.now();
    const from = await this.signer.getAddress();
    for (;;) {
      const all = this.store.txsForKey(req.key).filter((t) => t.status !== "reverted");
      for (const t of all) {
        if (t.status !== "pending" && t.status !== "replaced") continue;
        const receipt = await this.provider.getTransactionReceipt(t.hash).catch(() => null);
        if (receipt === null) continue;
        // Only transactions at the same nonce are replaced by this one; another nonce's is a live transaction.
        for (const other of all)
          if (other.hash !== t.hash && other.nonce === t.nonce && other.status === "pending")
            this.store.setTxStatus(other.hash, "replaced");
        if (receipt.status !== 1) {
          this.store.setTxStatus(t.hash, "reverted", receipt.blockNumber);
          throw new TxRevertedError(`${req.action} transaction ${t.hash} reverted`, receipt);
        }
        this.store.setTxStatus(t.hash, "mined", receipt.blockNumber);
        return receipt;
      }
      const newest = all.find((t) => t.status === "pending");
      if (newest === undefined) throw new TxPendingError(`${req.action}: nothing pending; rebuilding`);
      const latestNonce = await this.provider.getTransactionCount(from, "latest").catch(() => -1);
      if (latestNonce > newest.nonce) {
        // Our nonce is used but none of ours mined (give the receipts a moment): another signer with this key.
        // Only answers count: a failed lookup says nothing.
        await sleep(this.policy.pollMs);
        const mined = await Promise.all(
          all.map((t) => this.provider.getTransactionReceipt(t.hash).catch(() => "unknown" as const)),
        );
        if (mined.every((r) => r === null)) {
          for (const t of all) if (t.status === "pending") this.store.setTxStatus(t.hash, "dropped");
          this.nextNonce = undefined;
          throw new TxPendingError(`${req.action}: nonce ${newest.nonce} was used by another transaction`);
        }
        continue;
      }
      if (latestNonce !== -1 && latestNonce < newest.nonce) {
        // Earlier transactions of ours are not mined yet: this one waits on them (a higher fee would not help);
        // make sure the node has them all.
        await this.repairNonces();
      } else if (Date.now() - newest.sentAt >= this.policy.replaceAfterMs) {
        await this.replace(req, newest);
      } else if ((await this.provider.getTransaction(newest.hash).catch(() => undefined)) === null) {
        // The node does not have it (dropped, never received, or a reorg took it or an earlier one).
        await this.repairNonces();
      }
      if (Date.now() - started >= this.policy.waitMs) {
        throw new TxPendingError(`${req.action} transaction ${newest.hash} not mined yet`);
      }
      await sleep(this.policy.pollMs);
    }
  }

  private lastRepair = 0;

  /**
   * Makes the chain see our transactions again in the order we signed them. From the chain's next nonce
   * up, each nonce gets the transaction we recorded for it, broadcast again if the node lacks it: a pending
   * one the node lost, or one a reorganisation took back (mined or reverted, then undone; it is pending
   * again). A nonce we hold no transaction for is filled with a zero-value transfer to ourselves. Nothing is
   * ever re-signed at another nonce: that could put a call before the one it depends on (a finalize before
   * its submit). Runs at most every few polls, under the nonce lock.
   */
  private async repairNonces(): Promise<void> {
    if (Date.now() - this.lastRepair < this.policy.pollMs * 4) return;
    this.lastRepair = Date.now();
    await this.nonceLock.run(async () => {
      const from = await this.signer.getAddress();
      const expected = await this.provider.getTransactionCount(from, "latest");
      // Fillers have nobody waiting for them: settle the ones the chain has taken.
      for (const t of this.store.pendingTxs()) {
        if (t.nonce >= expected || t.action !== "fill-nonce") continue;
        const receipt = await this.provider.getTransactionReceipt(t.hash).catch(() => null);
        this.store.setTxStatus(t.hash, receipt === null ? "replaced" : "mined", receipt?.blockNumber ?? null);
      }
      const byNonce = new Map<number, TxRecord>();
      for (const t of this.store.txsFromNonce(expected)) {
        const known = byNonce.get(t.nonce);
        // A mined or reverted record beats the pending ones of its nonce: it is the one the chain had.
        if (known === undefined || (known.status === "pending" && t.status !== "pending")) byNonce.set(t.nonce, t);
      }
      const top = Math.max(expected - 1, ...byNonce.keys(), (this.nextNonce ?? 0) - 1);
      // The node may hold transactions of ours we have no record of (a store rebuilt after damage): a
      // nonce it counts as pending is never filled over.
      const pendingAtNode = await this.provider.getTransactionCount(from, "pending");
      for (let nonce = expected; nonce <= top; nonce++) {
        const tx = byNonce.get(nonce);
        if (tx === undefined) {
          if (nonce >= pendingAtNode) await this.fillNonce(from, nonce);
          continue;
        }
        // The transaction at the front holds every later one: when it is slow, its fee goes up (whoever
        // sent it may no longer be waiting for it).
        if (nonce === expected && tx.status === "pending" && Date.now() - tx.sentAt >= this.policy.replaceAfterMs) {
          const front: SendRequest = {
            key: tx.key,
            action: tx.action,
            build: () => Promise.reject(new Error("a replacement re-signs the recorded call")),
            ...(tx.requestId === null ? {} : { requestId: tx.requestId }),
          };
          await this.replaceUnlocked(front, tx);
          continue;
        }
        if (tx.status !== "pending") {
          this.store.setTxStatus(tx.hash, "pending");
          this.log.warn(
            { action: tx.action, tx: tx.hash, nonce },
            "transaction taken back by a reorganisation; re-broadcasting",
          );
        }
        if ((await this.provider.getTransaction(tx.hash).catch(() => undefined)) === null) await this.broadcast(tx.raw);
      }
      this.nextNonce = top + 1;
    });
  }

  /** A zero-value transfer to ourselves at `nonce`, so later transactions are not held behind a hole. */
  private async fillNonce(from: string, nonce: number): Promise<void> {
    const fees = await this.initialFees();
    const filler = await this.sign({ to: from, value: 0n, data: "0x", from, gasLimit: 21_000n, nonce, ...fees });
    this.store.recordTx({ ...filler, key: `fill-nonce:${nonce}`, requestId: null, action: "fill-nonce" }, undefined);
    await this.broadcast(filler.raw);
    this.log.warn({ nonce, tx: filler.hash }, "filled a nonce gap");
  }

  /** Same nonce, same call, fees bumped by at least 12.5 % (what nodes require), under the ceiling. */
  private async replace(req: SendRequest, newest: TxRecord): Promise<void> {
    await this.nonceLock.run(() => this.replaceUnlocked(req, newest));
  }

  private async replaceUnlocked(req: SendRequest, newest: TxRecord): Promise<void> {
    const old = Transaction.from(newest.raw);
    const bump = (v: bigint | null): bigint => ((v ?? 0n) * 1125n) / 1000n + 1n;
    const ceiling = await this.ceiling(req.deadline);
    const market = await this.provider.getFeeData().catch(() => null);
    let maxFee = bump(old.maxFeePerGas);
    if (market?.maxFeePerGas != null && market.maxFeePerGas > maxFee) maxFee = market.maxFeePerGas;
    if (maxFee > ceiling) {
      this.log.warn({ action: req.action, tx: newest.hash, ceiling }, "fee ceiling reached; re-broadcasting");
      await this.broadcast(newest.raw);
      this.store.recordTx({ ...newest, hash: newest.hash }, undefined); // refresh sent_at
      return;
    }
    let priority = this.policy.maxPriorityFeePerGas ?? bump(old.maxPriorityFeePerGas);
    if (priority < bump(old.maxPriorityFeePerGas)) priority = bump(old.maxPriorityFeePerGas);
    if (priority > maxFee) priority = maxFee;
    const from = await this.signer.getAddress();
    const tx = await this.sign({
      to: old.to,
      data: old.data,
      value: old.value,
      chainId: old.chainId,
      from,
      gasLimit: old.gasLimit,
      nonce: old.nonce,
      type: 2,
      maxFeePerGas: maxFee,
      maxPriorityFeePerGas: priority,
    });
    this.store.recordTx({ ...tx, key: req.key, requestId: req.requestId ?? null, action: req.action }, undefined);
    await this.broadcast(tx.raw);
    this.log.warn({ action: req.action, replaced: newest.hash, tx: tx.hash, maxFee }, "replaced a slow transaction");
  }

  private chainId: bigint | undefined;

  private async sign(
    tx: Parameters<AbstractSigner["signTransaction"]>[0],
  ): Promise<{ hash: string; raw: string; nonce: number }> {
    this.chainId ??= (await this.provider.getNetwork()).chainId;
    const raw = await this.signer.signTransaction({ chainId: this.chainId, ...tx });
    const parsed = Transaction.from(raw);
    return { hash: parsed.hash!, raw, nonce: parsed.nonce };
  }

  /** "accepted" (or already known), "rejected" (certainly not taken), "gap" (an earlier nonce missing), or "unknown". */
  private async broadcast(raw: string): Promise<"accepted" | "rejected" | "gap" | "unknown"> {
    try {
      await this.provider.broadcastTransaction(raw);
      return "accepted";
    } catch (error) {
      const message = String((error as { message?: unknown }).message ?? "").toLowerCase();
      if (message.includes("already known") || message.includes("known transaction")) return "accepted";
      if (message.includes("nonce too low") || (error as { code?: string }).code === "NONCE_EXPIRED") return "accepted";
      if (message.includes("nonce too high")) return "gap";
      const failure = classify(error);
      if (failure.kind === "transient" && !message.includes("underpriced") && !message.includes("fee"))
        return "unknown";
      this.log.warn({ reason: failure.summary, message: message.slice(0, 200) }, "broadcast rejected");
      return "rejected";
    }
  }

  private async allocateNonce(): Promise<number> {
    if (this.nextNonce === undefined) {
      const from = await this.signer.getAddress();
      const chain = await this.provider.getTransactionCount(from, "pending");
      const recorded = this.store.pendingTxs().reduce((m, t) => Math.max(m, t.nonce + 1), 0);
      this.nextNonce = Math.max(chain, recorded);
    }
    return this.nextNonce;
  }

  private async initialFees(
    deadline?: number,
  ): Promise<{ maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint; gasPrice?: bigint; type?: number }> {
    const fee = await this.provider.getFeeData();
    if (fee.maxFeePerGas === null) return { gasPrice: fee.gasPrice ?? undefined };
    const ceiling = await this.ceiling(deadline, fee.maxFeePerGas);
    const maxFeePerGas = fee.maxFeePerGas > ceiling ? ceiling : fee.maxFeePerGas;
    let maxPriorityFeePerGas = this.policy.maxPriorityFeePerGas ?? fee.maxPriorityFeePerGas ?? 0n;
    if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
    return { type: 2, maxFeePerGas, maxPriorityFeePerGas };
  }

  /** The max fee allowed now: the policy ceiling, raised towards `urgentFeeMultiplier` x as the deadline nears. */
  private async ceiling(deadline?: number, estimate?: bigint): Promise<bigint> {
    let base = this.policy.maxFeePerGas;
    if (base === undefined) {
      const e = estimate ?? (await this.provider.getFeeData()).maxFeePerGas ?? 0n;
      base = e * 3n;
    }
    if (deadline === undefined) return base;
    const remaining = deadline - Date.now() / 1000;
    const horizon = 600; // the last ten minutes before the deadline raise the ceiling linearly
    const urgency = remaining >= horizon ? 0 : Math.min(1, 1 - Math.max(0, remaining) / horizon);
    const factor = 1 + (this.policy.urgentFeeMultiplier - 1) * urgency;
    return (base * BigInt(Math.round(factor * 1000))) / 1000n;
  }
}
