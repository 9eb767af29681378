// Invariant test of Proof of Quality over the real contracts (market, vault, QualityModule, RANDAO
// randomness). The quality of a response is what the honest validators' cross-encoder says; here a fixed
// score stands for it (good answers 9000, bad 1000), so the test is about who sits on committees and who
// is paid and slashed, not about the scorer.
// Actors: requester R (also joins the validator pool, and adds its sybils to it at random times, to get
// good answers refunded); good operator G; lazy operator L (bad answers); three honest validators; one
// lying validator (inverts scores); governance pausing; time.
// Invariants after every step: escrow solvency, pays at most once, no slash beyond its lock, the requester
// never seated on its own request's committee and never paid a slash, a good answer rejected only when
// the requester's sybils held a committee majority, a bad answer never accepted while honest validators
// hold one; honest validators never lose stake, the good operator only where its committee was captured.
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { hexlify, parseEther, randomBytes, toUtf8Bytes, type BigNumberish } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  MODE_QUALITY,
  deployQualityModule,
  registerQualityModel,
  type QualityConfig,
} from "../../../scripts/lib/quality.js";
import { fulfilAll } from "../../helpers/randomness.js";
import {
  RequestStatus,
  expectPaysAtMostOnce,
  expectSlashesWithinLocks,
  expectSolvent,
} from "../../helpers/invariants.js";

const { ethers, networkHelpers } = await network.create();
const PRICE = parseEther("0.1");
const CONFIG: QualityConfig = {
  committeeSize: 3,
  minReveals: 2,
  threshold: 5_000,
  outlierDistance: 2_000,
  commitWindow: 600,
  revealWindow: 600,
  maxInlineBytes: 256,
  operatorSlashBps: 5_000,
  validatorStake: parseEther("0.5"),
  validatorReward: parseEther("0.002"),
  outlierSlash: parseEther("0.1"),
  noRevealSlash: parseEther("0.2"),
};
const FEE = BigInt(CONFIG.committeeSize) * CONFIG.validatorReward;
const GOOD = hexlify(toUtf8Bytes("32"));
const BAD = hexlify(toUtf8Bytes("23"));
const PROMPT = hexlify(toUtf8Bytes("what is 17 + 15 ?"));

describe("QualityModule invariants (actor model over the real contracts)", function () {
  this.timeout(900_000);

  async function deployFixture() {
    const [deployer, treasury, r, g, l, liar, v1, v2, v3, ...rest] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const { quality, randomness } = await deployQualityModule(suite, deployer!);
    const modelId = await registerQualityModel(suite.registry, deployer!, {
      modelHash: ethers.id("veriml/arith-good"),
      artifactURI: "file://models/quality/gen-good",
      ethPrice: PRICE,
      operatorStake: parseEther("1"),
      config: CONFIG,
    });
    for (const op of [g!, l!]) {
      await suite.vault.connect(op).stake(parseEther("20"), { value: parseEther("20") });
      await suite.vault.connect(op).setService(modelId, 0, true);
    }
    const honest = [v1!, v2!, v3!];
    for (const v of [...honest, liar!, r!]) {
      await suite.vault.connect(v).stake(parseEther("3"), { value: parseEther("3") });
      await suite.vault.connect(v).setService(modelId, 1, true);
    }
    const sybils = rest.slice(0, 4);
    for (const s of sybils) await suite.vault.connect(s).stake(parseEther("3"), { value: parseEther("3") });
    return {
      ...suite,
      quality,
      randomness,
      modelId,
      deployer: deployer!,
      treasury: treasury!,
      r: r!,
      g: g!,
      l: l!,
      liar: liar!,
      honest,
      sybils,
    };
  }
  type F = Awaited<ReturnType<typeof deployFixture>>;
  interface World {
    f: F;
    reqs: Map<bigint, "G" | "L" | undefined>;
    salts: Map<string, string>;
    initial: Map<string, bigint>;
  }

  const tryTx = async (p: () => Promise<{ wait(): Promise<unknown> }>): Promise<boolean> => {
    try {
      await (await p()).wait();
      return true;
    } catch {
      return false;
    }
  };
  const signerOf = (f: F, a: string): HardhatEthersSigner =>
    [f.r, f.g, f.l, f.liar, ...f.honest, ...f.sybils].find((x) => x.address === a)!;
  const isRequesterSide = (f: F, a: string) => a === f.r.address || f.sybils.some((s) => s.address === a);
  /** What each kind of member scores: honest validators the truth, the liar and the requester's side as suits them. */
  const scoreOf = (f: F, member: string, kind: "G" | "L"): number => {
    if (isRequesterSide(f, member)) return 0; // wants everything refunded
    const truth = kind === "G" ? 9_000 : 1_000;
    return member === f.liar.address ? 10_000 - truth : truth;
  };

  async function react(w: World): Promise<void> {
    const { f } = w;
    for (let round = 0; round < 30; round++) {
      let acted = (await fulfilAll(networkHelpers, f.deployer, f.randomness)) > 0;
      for (const [id, kind] of w.reqs) {
        if (kind === undefined || (await f.market.getRequest(id)).status !== RequestStatus.Submitted) continue;
        const job = await f.quality.getJob(id);
        if (!job.drawn && (await f.quality.isDrawReady(id))) acted ||= await tryTx(() => f.quality.drawCommittee(id));
        for (const m of await f.quality.getMembers(id)) {
          const v = signerOf(f, m.validator);
          const key = `${id}:${m.validator}`;
          const score = scoreOf(f, m.validator, kind);
          if (m.commitment === "0x" + "0".repeat(64)) {
            const s = hexlify(randomBytes(32));
            const c = await f.quality.commitmentOf(id, m.validator, score, s);
            if (await tryTx(() => f.quality.connect(v).commitScore(id, c))) {
              w.salts.set(key, s);
              acted = true;
            }
          } else if (!m.revealed && w.salts.has(key)) {
            acted ||= await tryTx(() => f.quality.connect(v).revealScore(id, score, w.salts.get(key)!));
          }
        }
        if (!(await f.quality.getJob(id)).resolved) acted ||= await tryTx(() => f.quality.resolve(id));
        if (await f.quality.isFinal(id)) acted ||= await tryTx(() => f.market.finalize(id));
      }
      if (!acted) return;
    }
    throw new Error("the honest parties did not settle down");
  }

  async function checkInvariants(w: World): Promise<void> {
    const { f } = w;
    const everyone = [f.r, f.g, f.l, f.liar, ...f.honest, ...f.sybils].map((x) => x.address);
    await expectSolvent(ethers.provider, f.market, f.vault);
    await expectPaysAtMostOnce(f.market);
    await expectSlashesWithinLocks(f.vault, everyone);
    expect(await f.vault.slashProceedsOf(f.r.address), "the requester is never paid a slash").to.equal(0n);
    // What honest parties may lose: only on committees the hostile side (requester, its sybils, the liar)
    // captured; the good operator its slash there, an honest member at most one outlier slash there.
    const operatorSlash = (parseEther("1") * BigInt(CONFIG.operatorSlashBps)) / 10_000n;
    const mayLose = new Map<string, bigint>();
    const allow = (a: string, v: bigint) => mayLose.set(a, (mayLose.get(a) ?? 0n) + v);
    for (const [id, kind] of w.reqs) {
      const members = (await f.quality.getMembers(id)).map((m) => m.validator);
      expect(members, `request ${id}: the requester judged its own request`).to.not.include(f.r.address);
      expect(new Set(members).size, `request ${id}: one seat per address`).to.equal(members.length);
      const job = await f.quality.getJob(id);
      if (!job.resolved || !job.quorum || kind === undefined) continue;
      const requesterSeats = members.filter((m) => isRequesterSide(f, m)).length;
      const honestSeats = members.filter((m) => f.honest.some((h) => h.address === m)).length;
      const captured = requesterSeats + (members.includes(f.liar.address) ? 1 : 0) >= 2;
      if (kind === "G" && !job.accepted) {
        expect(captured, `good answer ${id} rejected by an honest committee`).to.equal(true);
        allow(f.g.address, operatorSlash);
      }
      if (captured) for (const m of members) if (f.honest.some((h) => h.address === m)) allow(m, CONFIG.outlierSlash);
      if (kind === "L" && job.accepted) expect(honestSeats, `bad answer ${id} accepted`).to.be.lessThan(2);
    }
    for (const [address, total] of w.initial) {
      const lost = total - (await f.vault.stakeOf(address)).total;
      expect(lost >= 0n && lost <= (mayLose.get(address) ?? 0n), `${address} lost ${lost}`).to.equal(true);
      if (address === f.g.address) expect(lost, "the good operator's loss").to.equal(mayLose.get(address) ?? 0n);
    }
  }

  const coverage = new Map<string, number>();
  const count = (what: string, n = 1) => coverage.set(what, (coverage.get(what) ?? 0) + n);
  type Action = { name: string; run: (w: World) => Promise<void> };
  const action = (name: string, run: (w: World) => Promise<void>): Action => ({ name, run });
  const create = fc.constant(null).map(() =>
    action("create", async (w) => {
      const deadline = BigInt(await networkHelpers.time.latest()) + 7200n;
      const params = inlineEthRequest(w.f.modelId, MODE_QUALITY, PROMPT, PRICE + FEE, deadline);
      if (await tryTx(() => w.f.market.connect(w.f.r).createRequest(params, { value: PRICE + FEE }))) {
        w.reqs.set(await w.f.market.requestCount(), undefined);
      }
    }),
  );
  const serve = fc.tuple(fc.constantFrom<"G" | "L">("G", "L"), fc.nat()).map(([who, seed]) =>
    action("serve", async (w) => {
      const open: bigint[] = [];
      for (const id of w.reqs.keys())
        if ((await w.f.market.getRequest(id)).status === RequestStatus.Open) open.push(id);
      const id = open[seed % Math.max(1, open.length)];
      if (id === undefined) return;
      const op = who === "G" ? w.f.g : w.f.l;
      if (!(await tryTx(() => w.f.market.connect(op).claim(id)))) return;
      await (await w.f.market.connect(op).submitResult(id, who === "G" ? GOOD : BAD, "0x")).wait();
      w.reqs.set(id, who);
    }),
  );
  const sybilJoin = fc.tuple(fc.nat({ max: 3 }), fc.boolean()).map(([i, join]) =>
    action("sybil", async (w) => {
      await tryTx(() => w.f.vault.connect(w.f.sybils[i]!).setService(w.f.modelId, 1, join));
    }),
  );
  const warp = fc.integer({ min: 1, max: 300 }).map((seconds) =>
    action("warp", async () => {
      await networkHelpers.time.increase(seconds);
    }),
  );
  const pause = fc.boolean().map((on) =>
    action("pause", async (w) => {
      await tryTx(() => (on ? w.f.market.connect(w.f.deployer).pause() : w.f.market.connect(w.f.deployer).unpause()));
    }),
  );

  it("keeps every invariant under random actor sequences", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            { arbitrary: create, weight: 4 },
            { arbitrary: serve, weight: 5 },
            { arbitrary: sybilJoin, weight: 3 },
            { arbitrary: warp, weight: 2 },
            { arbitrary: pause, weight: 1 },
          ),
          { minLength: 10, maxLength: 22 },
        ),
        async (actions) => {
          const f = await networkHelpers.loadFixture(deployFixture);
          const initial = new Map<string, bigint>();
          for (const s of [f.g, ...f.honest]) initial.set(s.address, (await f.vault.stakeOf(s.address)).total);
          const world: World = { f, reqs: new Map(), salts: new Map(), initial };
          for (const a of actions) {
            count(a.name);
            await a.run(world);
            await react(world);
            await checkInvariants(world);
          }
          await tryTx(() => f.market.connect(f.deployer).unpause());
          for (let i = 0; i < 3; i++) {
            await networkHelpers.time.increase(1_300);
            await react(world);
          }
          await checkInvariants(world);
          const m = f.market;
          count("accepted", (await m.queryFilter(m.filters.RequestFinalized(), 0)).length);
          count("rejected", (await m.queryFilter(m.filters.RequestRejected(), 0)).length);
          const penalised = await f.quality.queryFilter(f.quality.filters.ValidatorPenalised(), 0);
          count("validator penalised", penalised.length);
          runs++;
        },
      ),
      { numRuns: 10, seed: 0x90a1, endOnFailure: true },
    );
    expect(runs).to.equal(10);
    console.log(`      coverage: ${JSON.stringify(Object.fromEntries(coverage))}`);
    for (const path of ["serve", "sybil", "accepted", "rejected", "validator penalised"]) {
      expect(coverage.get(path) ?? 0, path).to.be.greaterThan(0);
    }
    void (0 as BigNumberish);
  });
});
