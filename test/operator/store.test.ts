import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { OperatorStore } from "../../operator/src/store.js";

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
    first.recordTx(2n, "submit", "0xfeed", "submitting");
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
});
