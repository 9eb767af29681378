// The operator's TxSender on Hardhat's chain: sign, record, broadcast; one transaction per key across
// restarts; slow transactions replaced at the same nonce with higher fees under the ceiling; dropped ones
// broadcast again; a node that refuses an underpriced transaction never burns a nonce; reverts decoded.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { Transaction, Wallet, parseEther, parseUnits } from "ethers";
import { pino } from "pino";
import { classify } from "../../operator/src/chain/errors.js";
import { DEFAULT_TX_POLICY, TxPendingError, TxSender } from "../../operator/src/chain/tx-sender.js";
import { OperatorStore } from "../../operator/src/store.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../scripts/lib/deploy.js";

const { ethers, networkHelpers } = await network.create();
const silent = pino({ level: "silent" });

describe("operator: TxSender", function () {
  this.timeout(60_000);
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "veriml-tx-"));
  });
  after(async () => {
    await ethers.provider.send("evm_setAutomine", [true]);
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh funded key, its store and sender. */
  async function sender(policy: Partial<typeof DEFAULT_TX_POLICY> & { maxFeePerGas?: bigint } = {}) {
    const wallet = Wallet.createRandom().connect(ethers.provider);
    const [funder] = await ethers.getSigners();
    await (await funder!.sendTransaction({ to: wallet.address, value: parseEther("1") })).wait();
    const store = new OperatorStore(path.join(dir, `s${n++}.sqlite`));
    const tx = new TxSender(wallet, store, { ...DEFAULT_TX_POLICY, pollMs: 20, waitMs: 3_000, ...policy }, silent);
    return { wallet, store, tx };
  }
  const transfer = (to: string) => async () => ({ to, data: "0x", value: 1n });

  it("sends once per key: a second send of the same key returns the first receipt", async () => {
    const { wallet, store, tx } = await sender();
    const first = await tx.send({ key: "pay:1", action: "pay", build: transfer(wallet.address) });
    const second = await tx.send({ key: "pay:1", action: "pay", build: transfer(wallet.address) });
    expect(second.hash).to.equal(first.hash);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(1);
    expect(store.txsForKey("pay:1").map((t) => t.status)).to.deep.equal(["mined"]);
  });

  it("a transaction signed and recorded but never broadcast (a crash) is broadcast on resume, not re-made", async () => {
    const { wallet, store, tx } = await sender();
    const nonce = await ethers.provider.getTransactionCount(wallet.address);
    const fee = await ethers.provider.getFeeData();
    const raw = await wallet.signTransaction({
      to: wallet.address,
      value: 1n,
      nonce,
      gasLimit: 30_000n,
      chainId: (await ethers.provider.getNetwork()).chainId,
      type: 2,
      maxFeePerGas: fee.maxFeePerGas!,
      maxPriorityFeePerGas: fee.maxPriorityFeePerGas!,
    });
    const hash = Transaction.from(raw).hash!;
    store.recordTx({ hash, key: "pay:crash", requestId: null, action: "pay", nonce, raw });
    expect(await ethers.provider.getTransaction(hash)).to.equal(null);
    await tx.resume();
    const receipt = await tx.send({ key: "pay:crash", action: "pay", build: transfer(wallet.address) });
    expect(receipt.hash).to.equal(hash);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(nonce + 1);
  });

  it("replaces a transaction stuck in the mempool at the same nonce with higher fees", async () => {
    const { wallet, store, tx } = await sender({ replaceAfterMs: 50, waitMs: 400 });
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      let pending: unknown;
      try {
        await tx.send({ key: "pay:stuck", action: "pay", build: transfer(wallet.address) });
      } catch (error) {
        pending = error;
      }
      expect(pending).to.be.instanceOf(TxPendingError);
      const sent = store.txsForKey("pay:stuck");
      expect(sent.length, "replaced at least once").to.be.greaterThan(1);
      expect(new Set(sent.map((t) => t.nonce)).size).to.equal(1);
      const fees = sent.map((t) => Transaction.from(t.raw).maxFeePerGas!);
      expect(fees[0]! > fees[fees.length - 1]!, "newest pays more").to.equal(true);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    await networkHelpers.mine(1);
    const receipt = await tx.send({ key: "pay:stuck", action: "pay", build: transfer(wallet.address) });
    expect(receipt.status).to.equal(1);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(1);
    const statuses = store.txsForKey("pay:stuck").map((t) => t.status);
    expect(statuses.filter((s) => s === "mined")).to.have.length(1);
  });

  it("broadcasts a dropped transaction again", async () => {
    const { wallet, tx } = await sender({ replaceAfterMs: 60_000, waitMs: 200 });
    await ethers.provider.send("evm_setAutomine", [false]);
    let hash: string | undefined;
    try {
      await tx.send({ key: "pay:drop", action: "pay", build: transfer(wallet.address) }).catch(() => undefined);
      const pending = (await ethers.provider.send("eth_getBlockByNumber", ["pending", false])) as {
        transactions: string[];
      };
      hash = pending.transactions.at(-1);
      expect(hash).to.not.equal(undefined);
      await ethers.provider.send("hardhat_dropTransaction", [hash]);
      expect(await ethers.provider.getTransaction(hash!)).to.equal(null);
      await tx.send({ key: "pay:drop", action: "pay", build: transfer(wallet.address) }).catch(() => undefined);
      expect(await ethers.provider.getTransaction(hash!), "broadcast again").to.not.equal(null);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    await networkHelpers.mine(1);
    expect((await tx.send({ key: "pay:drop", action: "pay", build: transfer(wallet.address) })).hash).to.equal(hash);
  });

  it("after a reorganisation: the same signed transactions go back in their order, nothing is re-signed", async () => {
    const { wallet, store, tx } = await sender();
    const before = (await ethers.provider.send("evm_snapshot", [])) as string;
    const a = await tx.send({ key: "step:a", action: "a", build: transfer(wallet.address) });
    const b = await tx.send({ key: "step:b", action: "b", build: transfer(wallet.address) });
    // Both blocks are taken back and replaced by a longer branch without them.
    await ethers.provider.send("evm_revert", [before]);
    await networkHelpers.mine(3);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(0);
    // The next call finds its nonce ahead of the chain: the run is restored in order before it.
    const c = await tx.send({ key: "step:c", action: "c", build: transfer(wallet.address) });
    const nonces = await Promise.all(
      [a.hash, b.hash, c.hash].map(async (h) => (await ethers.provider.getTransaction(h))!.nonce),
    );
    expect(nonces).to.deep.equal([0, 1, 2]);
    expect((await ethers.provider.getTransactionReceipt(a.hash))!.status).to.equal(1);
    expect((await ethers.provider.getTransactionReceipt(b.hash))!.status).to.equal(1);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(3);
    for (const key of ["step:a", "step:b", "step:c"]) expect(store.txsForKey(key)).to.have.length(1);
    expect(store.txsFromNonce(0).filter((t) => t.action === "fill-nonce")).to.deep.equal([]);
  });

  it("a call re-sent while a reorganisation has taken it back awaits the same transaction", async () => {
    const { wallet, store, tx } = await sender();
    const before = (await ethers.provider.send("evm_snapshot", [])) as string;
    const first = await tx.send({
      key: "fin:1",
      action: "finalize",
      build: transfer(wallet.address),
      reuseMined: false,
    });
    await ethers.provider.send("evm_revert", [before]);
    await networkHelpers.mine(2);
    const second = await tx.send({
      key: "fin:1",
      action: "finalize",
      build: transfer(wallet.address),
      reuseMined: false,
    });
    expect(second.hash).to.equal(first.hash);
    expect(store.txsForKey("fin:1")).to.have.length(1);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(1);
  });

  it("fills a nonce it holds no transaction for, so later ones are not stuck behind it", async () => {
    const { wallet, store, tx } = await sender({ waitMs: 3_000 });
    const fee = await ethers.provider.getFeeData();
    // Signed at nonce 1 with nothing recorded at nonce 0 (a record lost with a damaged store, say).
    const raw = await wallet.signTransaction({
      to: wallet.address,
      value: 1n,
      nonce: 1,
      gasLimit: 30_000n,
      chainId: (await ethers.provider.getNetwork()).chainId,
      type: 2,
      maxFeePerGas: fee.maxFeePerGas!,
      maxPriorityFeePerGas: fee.maxPriorityFeePerGas!,
    });
    const hash = Transaction.from(raw).hash!;
    store.recordTx({ hash, key: "pay:late", requestId: null, action: "pay", nonce: 1, raw });
    const receipt = await tx.send({ key: "pay:late", action: "pay", build: transfer(wallet.address) });
    expect(receipt.hash).to.equal(hash);
    const filler = store.txsForKey("fill-nonce:0");
    expect(filler.map((t) => t.status)).to.have.length(1);
    const mined = await ethers.provider.getTransaction(filler[0]!.hash);
    expect([mined!.nonce, mined!.to, mined!.value]).to.deep.equal([0, wallet.address, 0n]);
    // Nobody waits for a filler: the next repair settles its record, so nothing stays pending.
    await tx.send({ key: "pay:next", action: "pay", build: transfer(wallet.address) });
    (tx as unknown as { lastRepair: number }).lastRepair = 0;
    await (tx as unknown as { repairNonces(): Promise<void> }).repairNonces();
    expect(store.txsForKey("fill-nonce:0").map((t) => t.status)).to.deep.equal(["mined"]);
    expect(store.pendingTxs()).to.deep.equal([]);
  });

  it("a slow transaction at the front is re-priced by a later one's wait, though nobody waits for it any more", async () => {
    const { wallet, store, tx } = await sender({ replaceAfterMs: 50, waitMs: 150 });
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      // The first call's caller gives up waiting (its step moved on); the second waits behind it.
      await tx.send({ key: "front", action: "a", build: transfer(wallet.address) }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      await tx.send({ key: "behind", action: "b", build: transfer(wallet.address) }).catch(() => undefined);
      const front = store.txsForKey("front");
      expect(front.length, "the front transaction was replaced").to.be.greaterThan(1);
      expect(new Set(front.map((t) => t.nonce))).to.deep.equal(new Set([0]));
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    await networkHelpers.mine(1);
    const receipt = await tx.send({ key: "behind", action: "b", build: transfer(wallet.address) });
    expect((await ethers.provider.getTransaction(receipt.hash))!.nonce).to.equal(1);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(2);
  });

  it("never fills over a transaction of ours the node holds but the store does not know (a rebuilt store)", async () => {
    const { wallet, store, tx } = await sender({ waitMs: 300 });
    await ethers.provider.send("evm_setAutomine", [false]);
    const fee = await ethers.provider.getFeeData();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const sign = (nonce: number) =>
      wallet.signTransaction({
        to: wallet.address,
        value: 1n,
        nonce,
        gasLimit: 30_000n,
        chainId,
        type: 2,
        maxFeePerGas: fee.maxFeePerGas!,
        maxPriorityFeePerGas: fee.maxPriorityFeePerGas!,
      });
    try {
      // Nonce 0 is in the node's mempool with no record; nonce 1 is recorded.
      const unknown = await sign(0);
      await ethers.provider.broadcastTransaction(unknown);
      const raw = await sign(1);
      store.recordTx({
        hash: Transaction.from(raw).hash!,
        key: "pay:after",
        requestId: null,
        action: "pay",
        nonce: 1,
        raw,
      });
      await tx.send({ key: "pay:after", action: "pay", build: transfer(wallet.address) }).catch(() => undefined);
      expect(store.txsForKey("fill-nonce:0")).to.deep.equal([]);
      expect(await ethers.provider.getTransaction(Transaction.from(unknown).hash!)).to.not.equal(null);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    await networkHelpers.mine(1);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(2);
  });

  it("a fee ceiling below the base fee: refused without burning a nonce, sent once the ceiling allows", async () => {
    const low = await sender({ maxFeePerGas: 1n });
    let refused: unknown;
    try {
      await low.tx.send({ key: "pay:low", action: "pay", build: transfer(low.wallet.address) });
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(TxPendingError);
    // The nonce stayed free: a later send under a sane ceiling is mined with nonce 0.
    const ok = new TxSender(
      low.wallet,
      low.store,
      { ...DEFAULT_TX_POLICY, pollMs: 20, maxFeePerGas: parseUnits("100", "gwei") },
      silent,
    );
    const receipt = await ok.send({ key: "pay:low", action: "pay", build: transfer(low.wallet.address) });
    expect((await ethers.provider.getTransaction(receipt.hash))!.nonce).to.equal(0);
  });

  it("a call the chain refuses surfaces as a decoded revert before anything is signed", async () => {
    const { wallet, store, tx } = await sender();
    const [deployer] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: deployer!.address });
    let failure: unknown;
    try {
      await tx.send({ key: "claim:99", action: "claim", build: () => suite.market.claim.populateTransaction(99n) });
    } catch (error) {
      failure = error;
    }
    const c = classify(failure);
    expect(c.kind).to.equal("revert");
    expect(c.revert?.name).to.equal("InferenceMarketUnknownRequest");
    expect(c.summary).to.equal("InferenceMarketUnknownRequest(99)");
    expect(store.txsForKey("claim:99")).to.deep.equal([]);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(0);
  });
});
