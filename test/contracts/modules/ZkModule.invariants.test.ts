// Invariant test of Proof of AI over the real contracts (market, vault, ZkModule, the generated digits MLP
// verifier) with real Groth16 proofs, made once per input before the runs.
// Actors: requester R (pins the config it read); honest operator G (true label, its proof; through
// claim/submit/finalize, or one-transaction fulfill, open or after its own claim); cheating operator C (a wrong
// label under a real proof, another input's proof and label, a mangled proof, or a claim it never answers;
// through either path; and resending G's valid answer as its own, which is accepted: it is correct); sybil operators that join and claim but never answer; the model owner swapping
// the verifier for one that accepts anything; governance pausing; time.
// Invariants after every step: escrow solvency, pays at most once, no slash beyond its lock, every
// accepted output is the model's output on the request's input, every request judged by the pinned
// verifier, and the honest operator never loses stake.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { parseEther } from "ethers";
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import { MODE_ZK, deployZkModule, registerZkModel, zkConfigFor } from "../../../scripts/lib/zk.js";
import { loadModelDir, proveInput, terminateSnarkjs, type ProofFile } from "../../../verifier-gen/src/pipeline.js";
import { encodeOutput } from "../../../verifier-gen/src/encoding.js";
import { encodeZkProof } from "../../../operator/src/executors/zk.js";
import {
  RequestStatus,
  expectOnlyCorrectOutputsAccepted,
  expectPaysAtMostOnce,
  expectSlashesWithinLocks,
  expectSolvent,
} from "../../helpers/invariants.js";

const { ethers, networkHelpers } = await network.create();
const MLP = "models/build/digits-mlp";
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const INPUTS = 5;

const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const inputOf = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);
const encodeProof = (input: Uint8Array, p: ProofFile): string => encodeZkProof(input, p.calldata);

describe("ZkModule invariants (actor model over the real contracts, real proofs)", function () {
  this.timeout(900_000);
  const proofs: ProofFile[] = [];
  const labels: number[] = [];
  before(async () => {
    const model = loadModelDir(MLP);
    for (let i = 0; i < INPUTS; i++) {
      const p = await proveInput(model, Array.from(inputOf(i)));
      proofs.push(p);
      labels.push(p.decoded.label!);
    }
    expect(new Set(labels).size, "the inputs have different labels").to.be.greaterThan(1);
  });
  after(terminateSnarkjs);

  async function deployFixture() {
    const [deployer, treasury, r, g, c, ...rest] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const zk = await deployZkModule(suite, deployer!);
    const { modelId } = await registerZkModel(suite.registry, deployer!, {
      buildDir: MLP,
      artifactURI: `file://${MLP}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
    });
    const liar = await ethers.deployContract("LyingVerifier", [loadModelDir(MLP).manifest.modelHash]);
    const lyingConfig = await zkConfigFor(await liar.getAddress(), deployer!);
    const honestConfig = await suite.registry.modeConfig(modelId, MODE_ZK);
    const honestTerms = await suite.market.termsHashOf(modelId, MODE_ZK);
    for (const op of [g!, c!]) {
      await suite.vault.connect(op).stake(parseEther("5"), { value: parseEther("5") });
      await suite.vault.connect(op).setService(modelId, 0, true);
    }
    const sybils = rest.slice(0, 3);
    for (const s of sybils) await suite.vault.connect(s).stake(parseEther("2"), { value: parseEther("2") });
    return {
      ...suite,
      zk,
      modelId,
      lyingConfig,
      honestConfig,
      honestTerms,
      deployer: deployer!,
      r: r!,
      g: g!,
      c: c!,
      sybils,
    };
  }
  type F = Awaited<ReturnType<typeof deployFixture>>;
  interface World {
    f: F;
    /** Request id -> index of its input. */
    inputs: Map<bigint, number>;
    initialHonest: bigint;
  }

  const tryTx = async (p: () => Promise<{ wait(): Promise<unknown> }>): Promise<boolean> => {
    try {
      await (await p()).wait();
      return true;
    } catch {
      return false;
    }
  };

  async function checkInvariants(w: World): Promise<void> {
    const { f } = w;
    await expectSolvent(ethers.provider, f.market, f.vault);
    await expectPaysAtMostOnce(f.market);
    await expectSlashesWithinLocks(
      f.vault,
      [f.g, f.c, ...f.sybils].map((s) => s.address),
    );
    await expectOnlyCorrectOutputsAccepted(f.market, (id) => encodeOutput([labels[w.inputs.get(id)!]!]));
    for (const id of w.inputs.keys()) {
      expect(await f.market.modeConfigOf(id), `request ${id} judged by another verifier`).to.equal(f.honestConfig);
      expect((await f.market.getRequest(id)).operatorStake, `request ${id} backed by less stake`).to.equal(STAKE);
    }
    expect((await f.vault.stakeOf(f.g.address)).total, "the honest operator's stake").to.equal(w.initialHonest);
  }

  /** Another input than `i` (a copy of i's own proof would be an honest answer). */
  const otherThan = (i: number, seed: number): number => (i + 1 + (seed % (INPUTS - 1))) % INPUTS;
  const coverage = new Map<string, number>();
  const count = (what: string) => coverage.set(what, (coverage.get(what) ?? 0) + 1);
  type Action = { name: string; run: (w: World) => Promise<boolean> };
  const action = (name: string, run: (w: World) => Promise<boolean>): Action => ({ name, run });

  async function openRequest(w: World, seed: number): Promise<bigint | undefined> {
    const open: bigint[] = [];
    for (const id of w.inputs.keys())
      if ((await w.f.market.getRequest(id)).status === RequestStatus.Open) open.push(id);
    return open[seed % Math.max(1, open.length)];
  }

  const create = fc.nat({ max: INPUTS - 1 }).map((i) =>
    action("create", async (w) => {
      const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
      const params = inlineEthRequest(w.f.modelId, MODE_ZK, inputOf(i), PRICE, deadline, w.f.honestTerms);
      if (!(await tryTx(() => w.f.market.connect(w.f.r).createRequest(params, { value: PRICE })))) return false;
      w.inputs.set(await w.f.market.requestCount(), i);
      return true;
    }),
  );
  const honest = fc.nat().map((seed) =>
    action("honest", async (w) => {
      const id = await openRequest(w, seed);
      if (id === undefined || !(await tryTx(() => w.f.market.connect(w.f.g).claim(id)))) return false;
      const i = w.inputs.get(id)!;
      return tryTx(() =>
        w.f.market.connect(w.f.g).submitResult(id, encodeOutput([labels[i]!]), encodeProof(inputOf(i), proofs[i]!)),
      );
    }),
  );
  const cheat = fc
    .tuple(fc.nat(), fc.constantFrom("wrong-label", "copied", "mangled", "no-show"), fc.nat({ max: INPUTS - 1 }))
    .map(([seed, how, other]) =>
      action(`cheat:${how}`, async (w) => {
        const id = await openRequest(w, seed);
        if (id === undefined || !(await tryTx(() => w.f.market.connect(w.f.c).claim(id)))) return false;
        const i = w.inputs.get(id)!;
        const p = proofs[i]!;
        const submission: [string, string] | undefined =
          how === "wrong-label"
            ? [encodeOutput([(labels[i]! + 1) % 10]), encodeProof(inputOf(i), p)]
            : how === "copied"
              ? [
                  encodeOutput([labels[otherThan(i, other)]!]),
                  encodeProof(inputOf(otherThan(i, other)), proofs[otherThan(i, other)]!),
                ]
              : how === "mangled"
                ? [
                    encodeOutput([(labels[i]! + 3) % 10]),
                    encodeProof(inputOf(i), {
                      ...p,
                      calldata: { ...p.calldata, a: [p.calldata.a[1]!, p.calldata.a[0]!] },
                    }),
                  ]
                : undefined;
        if (submission === undefined) return true;
        // A cheat that were accepted would break the "only correct outputs" invariant; counted only if refused.
        return !(await tryTx(() => w.f.market.connect(w.f.c).submitResult(id, ...submission)));
      }),
    );
  // One-transaction settlement (fulfill): honest (open, or after its own claim), the cheats through fulfill,
  // and a front-runner resending the honest operator's (output, proof) as its own.
  const fulfillMove = (hows: readonly string[]) =>
    fc.tuple(fc.nat(), fc.constantFrom(...hows), fc.nat({ max: INPUTS - 1 })).map(([seed, how, other]) =>
      action(`fulfill:${how}`, async (w) => {
        const id = await openRequest(w, seed);
        if (id === undefined) return false;
        const i = w.inputs.get(id)!;
        const p = proofs[i]!;
        const honestArgs: [string, string] = [encodeOutput([labels[i]!]), encodeProof(inputOf(i), p)];
        if (how === "honest") return tryTx(() => w.f.market.connect(w.f.g).fulfill(id, ...honestArgs));
        if (how === "claimed") {
          if (!(await tryTx(() => w.f.market.connect(w.f.g).claim(id)))) return false;
          return tryTx(() => w.f.market.connect(w.f.g).fulfill(id, ...honestArgs));
        }
        // A copy of a valid answer is a valid answer: accepted, correct, paid to whoever is mined first.
        if (how === "frontrun") return tryTx(() => w.f.market.connect(w.f.c).fulfill(id, ...honestArgs));
        const cheat: [string, string] =
          how === "wrong-label"
            ? [encodeOutput([(labels[i]! + 1) % 10]), encodeProof(inputOf(i), p)]
            : how === "copied"
              ? [
                  encodeOutput([labels[otherThan(i, other)]!]),
                  encodeProof(inputOf(otherThan(i, other)), proofs[otherThan(i, other)]!),
                ]
              : [
                  encodeOutput([(labels[i]! + 3) % 10]),
                  encodeProof(inputOf(i), {
                    ...p,
                    calldata: { ...p.calldata, c: [p.calldata.c[1]!, p.calldata.c[0]!] },
                  }),
                ];
        return !(await tryTx(() => w.f.market.connect(w.f.c).fulfill(id, ...cheat)));
      }),
    );
  const fulfillHonest = fulfillMove(["honest", "claimed"]);
  const fulfillFrontrun = fulfillMove(["frontrun"]);
  const fulfillCheat = fulfillMove(["wrong-label", "copied", "mangled"]);
  const sybil = fc.tuple(fc.nat({ max: 2 }), fc.nat()).map(([k, seed]) =>
    action("sybil", async (w) => {
      const s = w.f.sybils[k]!;
      await tryTx(() => w.f.vault.connect(s).setService(w.f.modelId, 0, true));
      const id = await openRequest(w, seed);
      return id !== undefined && tryTx(() => w.f.market.connect(s).claim(id));
    }),
  );
  const swap = fc
    .boolean()
    .map((lying) =>
      action("owner swaps verifier", async (w) =>
        tryTx(() =>
          w.f.registry
            .connect(w.f.deployer)
            .configureMode(w.f.modelId, MODE_ZK, lying ? w.f.lyingConfig : w.f.honestConfig),
        ),
      ),
    );
  const cutStake = fc
    .boolean()
    .map((cut) =>
      action("owner cuts the stake", async (w) =>
        tryTx(() => w.f.registry.connect(w.f.deployer).setOperatorStake(w.f.modelId, cut ? 0n : STAKE)),
      ),
    );
  const settle = fc.nat().map((seed) =>
    action("settle", async (w) => {
      const ids = [...w.inputs.keys()];
      const id = ids[seed % Math.max(1, ids.length)];
      if (id === undefined) return false;
      const st = (await w.f.market.getRequest(id)).status;
      if (st === RequestStatus.Submitted) return tryTx(() => w.f.market.finalize(id));
      if (st === RequestStatus.Claimed) return tryTx(() => w.f.market.reopen(id));
      if (st === RequestStatus.Open) return tryTx(() => w.f.market.refund(id));
      return false;
    }),
  );
  const warp = fc.integer({ min: 60, max: 2_000 }).map((s) =>
    action("warp", async () => {
      await networkHelpers.time.increase(s);
      return true;
    }),
  );
  const pause = fc
    .boolean()
    .map((on) => action("pause", async (w) => tryTx(() => (on ? w.f.market.pause() : w.f.market.unpause()))));

  it("keeps every invariant under random actor sequences", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            { arbitrary: create, weight: 4 },
            { arbitrary: honest, weight: 3 },
            { arbitrary: cheat, weight: 4 },
            { arbitrary: fulfillHonest, weight: 3 },
            { arbitrary: fulfillFrontrun, weight: 2 },
            { arbitrary: fulfillCheat, weight: 4 },
            { arbitrary: sybil, weight: 2 },
            { arbitrary: swap, weight: 1 },
            { arbitrary: cutStake, weight: 1 },
            { arbitrary: settle, weight: 3 },
            { arbitrary: warp, weight: 2 },
            { arbitrary: pause, weight: 1 },
          ),
          { minLength: 12, maxLength: 30 },
        ),
        async (actions) => {
          const f = await networkHelpers.loadFixture(deployFixture);
          const world: World = { f, inputs: new Map(), initialHonest: (await f.vault.stakeOf(f.g.address)).total };
          for (const a of actions) {
            if (await a.run(world)) count(a.name);
            await checkInvariants(world);
          }
          runs++;
        },
      ),
      { numRuns: 24, seed: 0x2c0de, endOnFailure: true },
    );
    expect(runs).to.equal(24);
    console.log(`      coverage: ${JSON.stringify(Object.fromEntries(coverage))}`);
    for (const path of [
      "honest",
      "cheat:wrong-label",
      "cheat:copied",
      "cheat:mangled",
      "fulfill:honest",
      "fulfill:frontrun",
      "fulfill:wrong-label",
      "fulfill:copied",
      "fulfill:mangled",
      "sybil",
      "settle",
    ]) {
      expect(coverage.get(path) ?? 0, path).to.be.greaterThan(0);
    }
  });
});
