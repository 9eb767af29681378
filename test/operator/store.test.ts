import { mkdtemp, open, readdir, writeFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { OperatorStore, StoreLockedError } from "../../operator/src/store.js";

const job = (requestId: bigint) => ({
  requestId,
  modelId: 1n,
  mode: 0,
  input: "0x0102",
  inputHash: `0x${"ab".repeat(32)}`,
  inputURI: "",
  createdBlock: 7,
});

describe("operator store", () => {
  let file: string;
  beforeEach(async () => {
    file = path.join(await mkdtemp(path.join(tmpdir(), "veriml-store-")), "operator.sqlite");
  });

  it("records a request once, however often its event is replayed", () => {
    const store = new OperatorStore(file);
    expect(store.addJob(job(1n))).to.equal(true);
    store.update(1n, { state: "claimed" });
    expect(store.addJob(job(1n))).to.equal(false);
    expect(store.getJob(1n)!.state).to.equal("claimed");
    store.close();
  });

  it("keeps jobs, transactions and cursors across a reopen (restart)", () => {
    const first = new OperatorStore(file);
    first.addJob(job(2n));
    first.addJob(job(10n));
    first.recordTx(
      { hash: "0xfeed", key: "submit:2", requestId: 2n, action: "submit", nonce: 7, raw: "0x02" },
      "submitting",
    );
    first.update(10n, { state: "done" });
    first.setCursor("market:worker", 41);
    first.close();

    const second = new OperatorStore(file);
    const pending = second.pendingJobs();
    expect(pending.map((j) => j.requestId)).to.deep.equal([2n]);
    expect(pending[0]!.state).to.equal("submitting");
    expect(pending[0]!.lastTx).to.equal("0xfeed");
    expect(second.txCount(2n, "submit")).to.equal(1);
    expect(second.txCount(2n, "claim")).to.equal(0);
    // The signed bytes survive the restart, so the same transaction (never a second one) is resumed.
    expect(second.pendingTxs().map((t) => [t.hash, t.nonce, t.raw, t.key])).to.deep.equal([
      ["0xfeed", 7, "0x02", "submit:2"],
    ]);
    expect(second.getCursor("market:worker")).to.equal(41);
    expect(second.getCursor("other")).to.equal(undefined);
    expect(second.countByState()).to.deep.equal({ submitting: 1, done: 1 });
    second.close();
  });

  it("orders pending jobs by request id numerically", () => {
    const store = new OperatorStore(file);
    for (const id of [10n, 9n, 100n]) store.addJob(job(id));
    expect(store.pendingJobs().map((j) => j.requestId)).to.deep.equal([9n, 10n, 100n]);
    store.close();
  });

  it("a store with a garbage header is moved aside and rebuilt empty (from the chain), never a crash loop", async () => {
    await writeFile(file, "this is not a database, it is garbage ".repeat(200));
    const store = new OperatorStore(file);
    expect(store.recoveredFrom).to.match(/\.corrupt-\d+$/);
    expect(store.pendingJobs()).to.deep.equal([]);
    store.addJob(job(1n));
    store.close();
    const files = await readdir(path.dirname(file));
    expect(files.some((f) => f.includes(".corrupt-"))).to.equal(true);
    expect(new OperatorStore(file).recoveredFrom, "the rebuilt store is healthy").to.equal(undefined);
  });

  it("a store whose pages were zeroed is detected by its integrity check and rebuilt", async () => {
    const store = new OperatorStore(file);
    for (let i = 0n; i < 200n; i++) store.addJob(job(i));
    store.database.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    store.close();
    const handle = await open(file, "r+");
    const page = Buffer.alloc(4096 * 4, 0);
    await handle.write(page, 0, page.length, 4096 * 2);
    await handle.close();
    const reopened = new OperatorStore(file);
    expect(reopened.recoveredFrom).to.not.equal(undefined);
    reopened.close();
  });

  it("refuses a second process on the same store, and takes over a lock its owner left behind", async () => {
    const first = new OperatorStore(file, { lock: true });
    expect(() => new OperatorStore(file, { lock: true })).to.not.throw(); // same process: its own lock
    first.close();
    // A live process holds the lock.
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      await writeFile(`${file}.lock`, String(holder.pid));
      expect(() => new OperatorStore(file, { lock: true })).to.throw(StoreLockedError, /in use by process/);
    } finally {
      holder.kill("SIGKILL");
    }
    await new Promise((r) => holder.once("exit", r));
    // Its owner is gone: the stale lock is taken over.
    const taken = new OperatorStore(file, { lock: true });
    taken.close();
  });
});
