// Invariant test of optimistic mode over the real contracts (market, vault, OptimisticModule, one-step
// executor) with real traces of the digits MLP: fast-check drives random sequences of actor actions, and
// after every step the honest parties (an honest operator, an honest watcher) react as live bots would.
// Actors: requester; honest operator H; cheating operator C (wrong results with consistent traces of a
// "cheaper" model, or only a wrong label; defends or stalls); honest watcher W; griefer G (challenges honest
// results, picks at random, stalls); stake-less sybils; governance pausing; time.
// Invariants after every step: escrow solvency, pays at most once, no slash beyond its lock, no wrong output
// ever finalized as accepted, and neither H nor W ever loses stake.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { parseEther } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import { MODE_OPTIMISTIC, deployOptimisticModule, registerOptimisticModel } from "../../../scripts/lib/optimistic.js";
import { loadOptimisticModel } from "../../../operator/src/optimistic/model.js";
import {
  buildOneStepProof,
  commitTensors,
  commitTrace,
  encodeSubmissionProof,
  outputOf,
  type TraceCommitment,
} from "../../../operator/src/optimistic/trace.js";
import {
  Phase,
  challengerOneStep,
  challengerPick,
  operatorReveal,
  type Reveal,
} from "../../../operator/src/optimistic/game.js";
import {
  RequestStatus,
  expectOnlyCorrectOutputsAccepted,
  expectPaysAtMostOnce,
  expectSlashesWithinLocks,
  expectSolvent,
} from "../../helpers/invariants.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const MLP = loadOptimisticModel("models/build/digits-mlp");
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const BOND = parseEther("0.2");
const WINDOW = 600;
const CLOCK = 300;
const DEPOSIT = parseEther("20");

const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const SAMPLES = 6;
const inputs = Array.from({ length: SAMPLES }, (_, i) => Uint8Array.from(testSet.inputs[i]!));
function tampered(graph: IntGraph): IntGraph {
  const g = structuredClone(graph);
  const n = g.nodes[0]!;
  if (n.op !== "dense") throw new Error("the MLP starts with a dense layer");
  n.bias = n.bias.map((b, i) => (i % 3 === 0 ? b + 40_000 : b));
  return g;
}
const cheapGraph = tampered(MLP.graph);
const honest = inputs.map((x) => commitTrace(MLP.graph, x));
const cheats: TraceCommitment[][] = inputs.map((x, i) => {
  const cheap = commitTrace(cheapGraph, x);
  const tensors = honest[i]!.tensors.map((t) => Float64Array.from(t));
  const last = tensors[tensors.length - 1]!;
  tensors[tensors.length - 1] = Float64Array.of((last[0]! + 1) % 10);
  return [cheap, commitTensors(tensors)];
});

describe("OptimisticModule invariants (actor model over the real contracts)", function () {
  this.timeout(900_000);

  async function deployFixture() {
    const [deployer, treasury, user, h, c, w, g, ...rest] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const optimistic = await deployOptimisticModule(suite, deployer!, BOND / 2n);
    const { modelId } = await registerOptimisticModel(suite.registry, deployer!, {
      buildDir: MLP.dir,
      artifactURI: "file://models/build/digits-mlp",
      ethPrice: PRICE,
      operatorStake: STAKE,
      challengeWindow: WINDOW,
      clock: CLOCK,
      challengerBond: BOND,
    });
    for (const s of [h!, c!, w!, g!]) await suite.vault.connect(s).stake(DEPOSIT, { value: DEPOSIT });
    for (const s of [h!, c!]) await suite.vault.connect(s).setService(modelId, 0, true);
    return {
      ...suite,
      optimistic,
      modelId,
      deployer: deployer!,
      user: user!,
      h: h!,
      c: c!,
      w: w!,
      g: g!,
      sybils: rest.slice(0, 3),
    };
  }
  type F = Awaited<ReturnType<typeof deployFixture>>;

  /** What the test knows about each request. */
  interface Req {
    sample: number;
    operator?: "H" | "C";
    /** the commitment the operator submitted */
    trace?: TraceCommitment;
    /** the cheater stops answering in its games */
    stalls?: boolean;
  }
  interface World {
    f: F;
    reqs: Map<bigint, Req>;
    initial: Map<string, bigint>;
  }

  const pickOf = <T>(items: T[], seed: number): T | undefined =>
    items.length === 0 ? undefined : items[seed % items.length];
  const ids = (w: World, status: bigint[]) =>
    Promise.all([...w.reqs.keys()].map(async (id) => ({ id, status: (await w.f.market.getRequest(id)).status }))).then(
      (rows) => rows.filter((r) => status.includes(r.status)).map((r) => r.id),
    );
  const tryTx = async (p: () => Promise<{ wait(): Promise<unknown> }>): Promise<boolean> => {
    try {
      await (await p()).wait();
      return true;
    } catch {
      return false;
    }
  };
  const stateOf = async (f: F, id: bigint, challenger: string) => {
    const g = await f.optimistic.getGame(id, challenger);
    return {
      raw: g,
      s: {
        phase: Number(g.phase),
        operatorToMove: g.operatorToMove,
        level: Number(g.level),
        tensor: Number(g.tensor),
        position: Number(g.position),
      },
    };
  };
  const revealsOf = async (f: F, id: bigint, challenger: string): Promise<Reveal[]> =>
    (await f.optimistic.queryFilter(f.optimistic.filters.ChildrenRevealed(id, challenger), 0)).map((e) => ({
      level: Number(e.args.level),
      position: Number(e.args.position),
      children: [...e.args.children],
    }));

  /** The honest parties act until nothing is left for them to do (live bots). */
  async function react(w: World): Promise<void> {
    const { f } = w;
    for (let round = 0; round < 60; round++) {
      let acted = false;
      for (const [id, r] of w.reqs) {
        if ((await f.market.getRequest(id)).status !== RequestStatus.Submitted || r.trace === undefined) continue;
        const result = await f.optimistic.getResult(id);
        const now = await f.market.activeTime();
        // W challenges every result whose trace is not the correct one, while the window is open.
        const wrong = r.trace.traceRoot !== honest[r.sample]!.traceRoot;
        const wGame = await stateOf(f, id, f.w.address);
        if (wrong && wGame.s.phase === Phase.None && !result.operatorLost && now < result.challengeDeadline) {
          acted ||= await tryTx(() => f.optimistic.connect(f.w).challenge(id));
        }
        for (const challenger of await f.optimistic.challengersOf(id)) {
          const { raw, s } = await stateOf(f, id, challenger);
          if (s.phase === Phase.Resolved || result.operatorLost) {
            if (result.operatorLost && s.phase !== Phase.Resolved) {
              acted ||= await tryTx(() => f.optimistic.connect(f.w).releaseBond(id, challenger));
            }
            continue;
          }
          const elapsed = now - raw.lastMoveAt;
          const clock = s.operatorToMove ? raw.operatorClock : raw.challengerClock;
          if (s.phase !== Phase.OneStep && elapsed > clock) {
            acted ||= await tryTx(() => f.optimistic.connect(f.w).timeout(id, challenger));
            continue;
          }
          const operator = r.operator === "H" ? f.h : f.c;
          if (s.phase === Phase.OneStep) {
            // The honest side runs the one-step: H defends from its trace, W attacks with the patched one.
            if (r.operator === "H") {
              const proof = buildOneStepProof(
                MLP.graph,
                MLP.tree,
                honest[r.sample]!,
                s.tensor,
                s.position,
                inputs[r.sample]!,
              );
              acted ||= await tryTx(() => f.optimistic.connect(f.h).oneStep(id, challenger, proof));
            } else if (challenger === f.w.address) {
              const traceRounds = Math.ceil((honest[r.sample]!.traceLevels.length - 1) / 3);
              const reveals = (await revealsOf(f, id, challenger)).slice(0, traceRounds);
              const proof = challengerOneStep(
                MLP.graph,
                MLP.tree,
                honest[r.sample]!,
                reveals,
                s.tensor,
                s.position,
                inputs[r.sample]!,
              );
              acted ||= await tryTx(() => f.optimistic.connect(f.w).oneStep(id, challenger, proof));
            } else if (elapsed > raw.challengerClock) {
              acted ||= await tryTx(() => f.optimistic.connect(f.w).timeout(id, challenger));
            }
            continue;
          }
          if (s.operatorToMove) {
            if (r.operator === "C" && r.stalls) continue;
            acted ||= await tryTx(() =>
              f.optimistic.connect(operator).reveal(id, challenger, operatorReveal(r.trace!, s)),
            );
          } else if (challenger === f.w.address) {
            const revealed = (await revealsOf(f, id, challenger)).at(-1)!;
            const index = challengerPick(honest[r.sample]!, s, revealed.children);
            acted ||= await tryTx(() => f.optimistic.connect(f.w).pick(id, revealed.children, Math.max(0, index)));
          }
        }
        if (await f.optimistic.isFinal(id)) acted ||= await tryTx(() => f.market.finalize(id));
      }
      if (!acted) return;
    }
    throw new Error("the honest parties did not settle down");
  }

  async function checkInvariants(w: World): Promise<void> {
    const { f } = w;
    await expectSolvent(ethers.provider, f.market, f.vault);
    await expectPaysAtMostOnce(f.market);
    await expectSlashesWithinLocks(f.vault, [f.h.address, f.c.address, f.w.address, f.g.address]);
    await expectOnlyCorrectOutputsAccepted(f.market, (id) => outputOf(honest[w.reqs.get(id)!.sample]!));
    // Honest parties never lose stake (a slash of H or W would be a soundness failure).
    for (const s of [f.h, f.w])
      expect((await f.vault.stakeOf(s.address)).total, s.address).to.equal(w.initial.get(s.address));
  }

  const coverage = new Map<string, number>();
  const count = (what: string) => coverage.set(what, (coverage.get(what) ?? 0) + 1);
  type Cmd = fc.AsyncCommand<object, World>;
  const cmd = (name: string, run: (w: World) => Promise<void>): Cmd => ({
    check: () => true,
    run: async (_m, w) => {
      count(name.replace(/\(.*/, ""));
      await run(w);
      await react(w);
      await checkInvariants(w);
    },
    toString: () => name,
  });

  const create = fc.nat({ max: SAMPLES - 1 }).map((sample) =>
    cmd(`create(${sample})`, async (w) => {
      const deadline = BigInt(await networkHelpers.time.latest()) + 7200n;
      const params = inlineEthRequest(w.f.modelId, MODE_OPTIMISTIC, inputs[sample]!, PRICE, deadline);
      if (await tryTx(() => w.f.market.connect(w.f.user).createRequest(params, { value: PRICE }))) {
        w.reqs.set(await w.f.market.requestCount(), { sample });
      }
    }),
  );
  const serve = fc
    .tuple(fc.constantFrom<"H" | "C">("H", "C"), fc.nat(), fc.nat({ max: 1 }), fc.boolean())
    .map(([who, seed, kind, stalls]) =>
      cmd(`serve(${who}, ${seed}, ${kind}, ${stalls})`, async (w) => {
        const id = pickOf(await ids(w, [RequestStatus.Open]), seed);
        if (id === undefined) return;
        const r = w.reqs.get(id)!;
        const signer = who === "H" ? w.f.h : w.f.c;
        if (!(await tryTx(() => w.f.market.connect(signer).claim(id)))) return;
        const trace = who === "H" ? honest[r.sample]! : cheats[r.sample]![kind]!;
        await (await w.f.market.connect(signer).submitResult(id, outputOf(trace), encodeSubmissionProof(trace))).wait();
        Object.assign(r, { operator: who, trace, stalls: who === "C" && stalls });
      }),
    );
  const grief = fc.tuple(fc.nat(), fc.nat({ max: 7 }), fc.boolean()).map(([seed, index, oneStep]) =>
    cmd(`grief(${seed}, ${index}, ${oneStep})`, async (w) => {
      const id = pickOf(await ids(w, [RequestStatus.Submitted]), seed);
      if (id === undefined) return;
      const { s } = await stateOf(w.f, id, w.f.g.address);
      if (s.phase === Phase.None) {
        await tryTx(() => w.f.optimistic.connect(w.f.g).challenge(id));
      } else if (s.phase === Phase.OneStep && oneStep) {
        // The griefer runs the one-step from the operator's own trace (a valid proof: the operator wins if right).
        const r = w.reqs.get(id)!;
        const proof = buildOneStepProof(MLP.graph, MLP.tree, r.trace!, s.tensor, s.position, inputs[r.sample]!);
        await tryTx(() => w.f.optimistic.connect(w.f.g).oneStep(id, w.f.g.address, proof));
      } else if (!s.operatorToMove && s.phase !== Phase.OneStep) {
        const revealed = (await revealsOf(w.f, id, w.f.g.address)).at(-1);
        if (revealed)
          await tryTx(() =>
            w.f.optimistic.connect(w.f.g).pick(id, revealed.children, index % revealed.children.length),
          );
      }
    }),
  );
  const sybil = fc.nat().map((seed) =>
    cmd(`sybil(${seed})`, async (w) => {
      const id = pickOf(await ids(w, [RequestStatus.Submitted]), seed);
      if (id === undefined) return;
      const s = w.f.sybils[seed % w.f.sybils.length]!;
      expect(await tryTx(() => w.f.optimistic.connect(s).challenge(id)), "a stake-less challenge").to.equal(false);
    }),
  );
  const warp = fc.integer({ min: 1, max: 120 }).map((seconds) =>
    cmd(`warp(${seconds})`, async () => {
      await networkHelpers.time.increase(seconds);
    }),
  );
  const pause = fc.boolean().map((on) =>
    cmd(`pause(${on})`, async (w) => {
      await tryTx(() => (on ? w.f.market.connect(w.f.deployer).pause() : w.f.market.connect(w.f.deployer).unpause()));
    }),
  );
  const housekeeping = fc.nat().map((seed) =>
    cmd(`housekeeping(${seed})`, async (w) => {
      for (const id of await ids(w, [RequestStatus.Open, RequestStatus.Claimed])) {
        await tryTx(() => w.f.market.refund(id));
        await tryTx(() => w.f.market.reopen(id));
      }
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
            { arbitrary: grief, weight: 3 },
            { arbitrary: sybil, weight: 1 },
            { arbitrary: warp, weight: 3 },
            { arbitrary: pause, weight: 1 },
            { arbitrary: housekeeping, weight: 1 },
          ),
          { minLength: 12, maxLength: 30 },
        ),
        async (commands) => {
          const f = await networkHelpers.loadFixture(deployFixture);
          const initial = new Map<string, bigint>();
          for (const s of [f.h, f.w]) initial.set(s.address, (await f.vault.stakeOf(s.address)).total);
          const world: World = { f, reqs: new Map(), initial };
          for (const c of commands) await c.run({}, world);
          // Let everything settle: unpause, let windows pass, and check once more.
          await tryTx(() => f.market.connect(f.deployer).unpause());
          await networkHelpers.time.increase(WINDOW + 1);
          await react(world);
          await checkInvariants(world);
          runs++;
          const m = f.market;
          count(`finalized accepted`);
          coverage.set(
            "finalized accepted",
            (coverage.get("finalized accepted") ?? 1) -
              1 +
              (await m.queryFilter(m.filters.RequestFinalized(), 0)).length,
          );
          const rejected = (await m.queryFilter(m.filters.RequestRejected(), 0)).length;
          coverage.set("rejected (cheater caught)", (coverage.get("rejected (cheater caught)") ?? 0) + rejected);
          const games = await f.optimistic.queryFilter(f.optimistic.filters.GameResolved(), 0);
          for (const g of games)
            count(`game ${["open", "operator won", "challenger won", "cancelled"][Number(g.args.outcome)]}`);
        },
      ),
      { numRuns: 16, seed: 0x0b11, endOnFailure: true },
    );
    expect(runs).to.equal(16);
    console.log(`      coverage: ${JSON.stringify(Object.fromEntries(coverage))}`);
    // The runs exercised the paths that matter: cheaters caught, griefers losing, honest results accepted.
    for (const path of [
      "serve",
      "grief",
      "rejected (cheater caught)",
      "game challenger won",
      "game operator won",
      "finalized accepted",
    ]) {
      expect(coverage.get(path) ?? 0, path).to.be.greaterThan(0);
    }
  });

  it("the cheater is caught in a scripted worst case: wrong trace, griefers racing, a pause mid-game", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const initial = new Map<string, bigint>();
    for (const s of [f.h, f.w]) initial.set(s.address, (await f.vault.stakeOf(s.address)).total);
    const world: World = { f, reqs: new Map(), initial };
    const deadline = BigInt(await networkHelpers.time.latest()) + 7200n;
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_OPTIMISTIC, inputs[0]!, PRICE, deadline), { value: PRICE });
    await f.market.connect(f.c).claim(1n);
    await f.market.connect(f.c).submitResult(1n, outputOf(cheats[0]![0]!), encodeSubmissionProof(cheats[0]![0]!));
    world.reqs.set(1n, { sample: 0, operator: "C", trace: cheats[0]![0]! });
    await f.optimistic.connect(f.g).challenge(1n); // a colluding griefer challenges first and then plays nothing
    await f.market.connect(f.deployer).pause();
    await networkHelpers.time.increase(10 * WINDOW);
    await react(world); // W challenges and plays while the clocks stand still
    await f.market.connect(f.deployer).unpause();
    await networkHelpers.time.increase(WINDOW + 1);
    await react(world);
    await checkInvariants(world);
    expect((await f.market.getRequest(1n)).status).to.equal(RequestStatus.Finalized);
    expect(await settledOutput(f.market, 1n)).to.equal("0x");
    expect((await f.vault.stakeOf(f.c.address)).total).to.equal(DEPOSIT - STAKE);
    void (null as unknown as HardhatEthersSigner);
  });
});
