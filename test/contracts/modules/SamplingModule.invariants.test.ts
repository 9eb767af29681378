// Invariant test of sampling mode over the real contracts (market, vault, SamplingModule, SamplingCommittee,
// RANDAO randomness) with real outputs of the digits MLP. Every request is sampled (p = 100%), so a cheat can
// only stand when the drawn sampler colludes; the only colluder is the cheater's sybil, and it can only be
// drawn from a pool it had joined before the cheater's commitment fixed the snapshot.
// Actors: requester; honest operator H; cheating operator C (wrong output; reveals or stalls); honest
// samplers B1, B2; the cheater's sybil S (joins and leaves the operator pool at random times; colludes with
// C, lies against H, or does not show); four honest validators; governance pausing; time.
// Invariants after every step: escrow solvency, pays at most once, no slash beyond its lock, a wrong output
// accepted only when C's own sybil, in the pool before the snapshot, was the sampler; no honest party ever
// loses stake.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { AbiCoder, hexlify, keccak256, parseEther, randomBytes } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { runInt, type IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { decodeInputBytes, encodeOutput } from "../../../verifier-gen/src/encoding.js";
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  MODE_SAMPLING,
  deploySamplingModule,
  registerSamplingModel,
  type SamplingConfig,
} from "../../../scripts/lib/sampling.js";
import { fulfilAll } from "../../helpers/randomness.js";
import {
  RequestStatus,
  expectOnlyCorrectOutputsAccepted,
  expectPaysAtMostOnce,
  expectSlashesWithinLocks,
  expectSolvent,
} from "../../helpers/invariants.js";

const { ethers, networkHelpers } = await network.create();
const abi = AbiCoder.defaultAbiCoder();
const MLP = "models/build/digits-mlp";
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const VALIDATOR_STAKE = parseEther("0.3");
const WINDOW = 600;
const DEPOSIT = parseEther("20");

const graph = JSON.parse(readFileSync(`${MLP}/intgraph.json`, "utf8")) as IntGraph;
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const SAMPLES = 6;
const inputs = Array.from({ length: SAMPLES }, (_, i) => Uint8Array.from(testSet.inputs[i]!));
const truths = inputs.map((x) => {
  const t = runInt(graph, decodeInputBytes(graph, x)).tensors;
  return encodeOutput(t[t.length - 1]!);
});
const wrongs = inputs.map((x) => {
  const t = runInt(graph, decodeInputBytes(graph, x)).tensors;
  return encodeOutput([(t[t.length - 1]![0]! + 1) % 10]);
});
const commitment = (id: bigint, party: string, output: string, salt: string) =>
  keccak256(abi.encode(["uint256", "address", "bytes32", "bytes32"], [id, party, keccak256(output), salt]));
const voteCommitment = (id: bigint, v: string, h: string, salt: string) =>
  keccak256(abi.encode(["uint256", "address", "bytes32", "bytes32"], [id, v, h, salt]));

describe("SamplingModule invariants (actor model over the real contracts)", function () {
  this.timeout(900_000);

  async function deployFixture() {
    const [deployer, treasury, user, h, c, b1, b2, s, ...rest] = await ethers.getSigners();
    const validators = rest.slice(0, 4);
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const stack = await deploySamplingModule(suite, deployer!, {
      committee: {
        committeeSize: 3,
        slashBps: 10_000,
        commitWindow: WINDOW,
        revealWindow: WINDOW,
        validatorStake: VALIDATOR_STAKE,
      },
      arbitrationTimeout: 4 * 3600,
    });
    const config: SamplingConfig = {
      sampleBps: 10_000,
      verifierFeeBps: 10_000,
      samplerNoShowSlashBps: 2_000,
      maxDraws: 3,
      commitWindow: WINDOW,
      revealWindow: WINDOW,
      arbitrator: await stack.committee.getAddress(),
    };
    const { modelId } = await registerSamplingModel(suite.registry, deployer!, {
      buildDir: MLP,
      artifactURI: `file://${MLP}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
      config,
    });
    for (const op of [h!, c!, b1!, b2!, s!]) await suite.vault.connect(op).stake(DEPOSIT, { value: DEPOSIT });
    for (const op of [h!, c!, b1!, b2!]) await suite.vault.connect(op).setService(modelId, 0, true);
    for (const v of validators) {
      await suite.vault.connect(v).stake(parseEther("3"), { value: parseEther("3") });
      await suite.vault.connect(v).setService(modelId, 1, true);
    }
    return {
      ...suite,
      ...stack,
      modelId,
      deployer: deployer!,
      user: user!,
      h: h!,
      c: c!,
      b1: b1!,
      b2: b2!,
      s: s!,
      validators,
    };
  }
  type F = Awaited<ReturnType<typeof deployFixture>>;

  interface Req {
    sample: number;
    operator?: "H" | "C";
    output?: string;
    salt?: string;
    stalls?: boolean;
    samplerSalt?: Map<string, string>;
  }
  interface World {
    f: F;
    reqs: Map<bigint, Req>;
    /** How S answers when drawn: collude with C, lie, or not show. */
    sybilMode: "collude" | "lie" | "absent";
    votes: Map<string, string>;
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
  const signerOf = (f: F, address: string): HardhatEthersSigner =>
    [f.h, f.c, f.b1, f.b2, f.s, ...f.validators].find((x) => x.address === address)!;
  const salt = () => hexlify(randomBytes(32));

  async function react(w: World): Promise<void> {
    const { f } = w;
    for (let round = 0; round < 40; round++) {
      let acted = (await fulfilAll(networkHelpers, f.user, f.randomness)) > 0;
      for (const [id, r] of w.reqs) {
        if ((await f.market.getRequest(id)).status !== RequestStatus.Submitted) continue;
        if (await f.sampling.canAdvance(id)) acted ||= await tryTx(() => f.sampling.advance(id));
        const job = await f.sampling.getJob(id);
        const phase = Number(job.phase);
        // Drawn sampler: honest ones answer the truth; S colludes with C, lies against H, or stays away.
        if (phase === 3 && job.sampler !== "0x0000000000000000000000000000000000000000") {
          const b = signerOf(f, job.sampler);
          r.samplerSalt ??= new Map();
          let answer: string | undefined = truths[r.sample]!;
          if (b.address === f.s.address) {
            answer =
              w.sybilMode === "absent"
                ? undefined
                : r.operator === "C" && w.sybilMode === "collude"
                  ? r.output
                  : wrongs[r.sample];
          }
          if (answer !== undefined) {
            const bs = salt();
            if (await tryTx(() => f.sampling.connect(b).commitSampler(id, commitment(id, b.address, answer!, bs)))) {
              r.samplerSalt.set(`${b.address}:${answer}`, bs);
              acted = true;
            }
          }
        }
        if (phase === 2 || phase === 4) {
          if (!job.operatorRevealed && !(r.operator === "C" && r.stalls)) {
            const a = r.operator === "H" ? f.h : f.c;
            acted ||= await tryTx(() => f.sampling.connect(a).reveal(id, r.output!, r.salt!));
          }
          if (phase === 4 && !job.samplerRevealed) {
            for (const [key, bs] of r.samplerSalt ?? []) {
              const [addr, answer] = key.split(":");
              if (addr !== job.sampler) continue;
              acted ||= await tryTx(() => f.sampling.connect(signerOf(f, addr!)).reveal(id, answer!, bs));
            }
          }
        }
        if (phase === 5 && job.disputeOpened) {
          const d = job.disputeId;
          if (await f.committee.canDraw(d)) acted ||= await tryTx(() => f.committee.drawCommittee(d));
          const truthHash = keccak256(truths[r.sample]!);
          for (const m of await f.committee.membersOf(d)) {
            const v = signerOf(f, m);
            const vote = await f.committee.voteOf(d, m);
            const key = `${d}:${m}`;
            if (vote.commitment === "0x" + "0".repeat(64)) {
              const vs = salt();
              if (await tryTx(() => f.committee.connect(v).commitVote(d, voteCommitment(d, m, truthHash, vs)))) {
                w.votes.set(key, vs);
                acted = true;
              }
            } else if (!vote.revealed && w.votes.has(key)) {
              acted ||= await tryTx(() => f.committee.connect(v).revealVote(d, truthHash, w.votes.get(key)!));
            }
          }
          if (await f.committee.canResolve(d)) acted ||= await tryTx(() => f.committee.resolve(d));
        }
        if (await f.sampling.isFinal(id)) acted ||= await tryTx(() => f.market.finalize(id));
      }
      if (!acted) return;
    }
    throw new Error("the honest parties did not settle down");
  }

  /** Requests a wrong output may legitimately stand for: C's own sybil, pooled before the snapshot, sampled. */
  async function colluded(f: F, id: bigint): Promise<boolean> {
    return (await f.sampling.samplersOf(id)).includes(f.s.address);
  }

  async function checkInvariants(w: World): Promise<void> {
    const { f } = w;
    const everyone = [f.h, f.c, f.b1, f.b2, f.s, ...f.validators].map((x) => x.address);
    await expectSolvent(ethers.provider, f.market, f.vault);
    await expectPaysAtMostOnce(f.market);
    await expectSlashesWithinLocks(f.vault, everyone);
    const allowed = new Set<bigint>();
    for (const id of w.reqs.keys()) if (await colluded(f, id)) allowed.add(id);
    await expectOnlyCorrectOutputsAccepted(f.market, (id) =>
      allowed.has(id) ? undefined : truths[w.reqs.get(id)!.sample]!,
    );
    for (const [address, total] of w.initial) {
      expect((await f.vault.stakeOf(address)).total, `honest ${address} lost stake`).to.equal(total);
    }
    // S is drawn only for requests whose snapshot it was in.
    for (const id of allowed) {
      const snapshot = (await f.sampling.getJob(id)).snapshotBlock;
      let member = false;
      const n = await f.vault.poolSizeAt(f.modelId, 0, snapshot);
      for (let i = 0n; i < n; i++)
        if ((await f.vault.poolMemberAt(f.modelId, 0, i, snapshot)) === f.s.address) member = true;
      expect(member, `S drawn for request ${id} from a pool it was not in`).to.equal(true);
    }
  }

  const coverage = new Map<string, number>();
  const count = (what: string, n = 1) => coverage.set(what, (coverage.get(what) ?? 0) + n);
  type Action = { name: string; run: (w: World) => Promise<void> };
  const action = (name: string, run: (w: World) => Promise<void>): Action => ({ name, run });

  const create = fc.nat({ max: SAMPLES - 1 }).map((sample) =>
    action("create", async (w) => {
      const deadline = BigInt(await networkHelpers.time.latest()) + 7200n;
      const params = inlineEthRequest(w.f.modelId, MODE_SAMPLING, inputs[sample]!, PRICE * 2n, deadline);
      if (await tryTx(() => w.f.market.connect(w.f.user).createRequest(params, { value: PRICE * 2n }))) {
        w.reqs.set(await w.f.market.requestCount(), { sample });
      }
    }),
  );
  const serve = fc.tuple(fc.constantFrom<"H" | "C">("H", "C"), fc.nat(), fc.boolean()).map(([who, seed, stalls]) =>
    action("serve", async (w) => {
      const open: bigint[] = [];
      for (const id of w.reqs.keys())
        if ((await w.f.market.getRequest(id)).status === RequestStatus.Open) open.push(id);
      const id = open[seed % Math.max(1, open.length)];
      if (id === undefined) return;
      const r = w.reqs.get(id)!;
      const a = who === "H" ? w.f.h : w.f.c;
      if (!(await tryTx(() => w.f.market.connect(a).claim(id)))) return;
      const output = who === "H" ? truths[r.sample]! : wrongs[r.sample]!;
      const s = salt();
      await (
        await w.f.market
          .connect(a)
          .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, a.address, output, s)]))
      ).wait();
      Object.assign(r, { operator: who, output, salt: s, stalls: who === "C" && stalls });
    }),
  );
  const sybil = fc
    .tuple(fc.boolean(), fc.constantFrom<World["sybilMode"]>("collude", "lie", "absent"))
    .map(([join, mode]) =>
      action("sybil", async (w) => {
        w.sybilMode = mode;
        await tryTx(() => w.f.vault.connect(w.f.s).setService(w.f.modelId, 0, join));
      }),
    );
  const warp = fc.integer({ min: 1, max: 200 }).map((seconds) =>
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
            { arbitrary: sybil, weight: 2 },
            { arbitrary: warp, weight: 2 },
            { arbitrary: pause, weight: 1 },
          ),
          { minLength: 10, maxLength: 22 },
        ),
        async (actions) => {
          const f = await networkHelpers.loadFixture(deployFixture);
          const initial = new Map<string, bigint>();
          for (const s of [f.h, f.b1, f.b2, ...f.validators])
            initial.set(s.address, (await f.vault.stakeOf(s.address)).total);
          const world: World = { f, reqs: new Map(), sybilMode: "collude", votes: new Map(), initial };
          for (const a of actions) {
            count(a.name);
            await a.run(world);
            await react(world);
            await checkInvariants(world);
          }
          await tryTx(() => f.market.connect(f.deployer).unpause());
          for (let i = 0; i < 4; i++) {
            await networkHelpers.time.increase(WINDOW + 1);
            await react(world);
          }
          await checkInvariants(world);
          const m = f.market;
          count("accepted", (await m.queryFilter(m.filters.RequestFinalized(), 0)).length);
          count("rejected", (await m.queryFilter(m.filters.RequestRejected(), 0)).length);
          count("disputes", (await f.sampling.queryFilter(f.sampling.filters.DisputeEscalated(), 0)).length);
          count(
            "operator slashed",
            (await f.sampling.queryFilter(f.sampling.filters.VerdictReached(), 0)).filter((e) => e.args.operatorSlashed)
              .length,
          );
          for (const id of world.reqs.keys())
            if (await colluded(f, id)) count("sybil drawn (pooled before the snapshot)");
          runs++;
        },
      ),
      { numRuns: 10, seed: 0x5a17, endOnFailure: true },
    );
    expect(runs).to.equal(10);
    console.log(`      coverage: ${JSON.stringify(Object.fromEntries(coverage))}`);
    for (const path of ["serve", "sybil", "accepted", "rejected", "disputes", "operator slashed"]) {
      expect(coverage.get(path) ?? 0, path).to.be.greaterThan(0);
    }
  });
});
