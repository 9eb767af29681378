// An honest operator refuses terms under which serving could cost it its stake, whoever set them (audit:
// a model owner's 1-second clock, or a verifier with the model's hash but another key, lost honest
// operators their stake). Real executors, real verifiers on Hardhat's chain, a real proof for the check.
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, parseEther } from "ethers";
import { pino } from "pino";
import { OptimisticExecutor } from "../../operator/src/executors/optimistic.js";
import { SamplingExecutor } from "../../operator/src/executors/sampling.js";
import { ZkExecutor } from "../../operator/src/executors/zk.js";
import { encodeSamplingConfig } from "../../operator/src/sampling/config.js";
import {
  DEFAULT_TERMS_POLICY,
  TermsRefusedError,
  encodeOptimisticConfig,
  encodeZkConfig,
  type Terms,
} from "../../operator/src/terms.js";
import { deployVerifier } from "../../scripts/lib/zk.js";
import { loadVerifierArtifact, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";

const { ethers } = await network.create();
const BUILD = "models/build/digits-mlp";
const silent = pino({ level: "silent" });
const STAKE = parseEther("1");

async function refusal(p: Promise<unknown>): Promise<TermsRefusedError> {
  try {
    await p;
  } catch (error) {
    expect(error).to.be.instanceOf(TermsRefusedError);
    return error as TermsRefusedError;
  }
  throw new Error("terms were accepted");
}

describe("operator: terms checked before claiming", function () {
  this.timeout(120_000);
  after(terminateSnarkjs);
  const context = () => ({ provider: ethers.provider, policy: DEFAULT_TERMS_POLICY });

  it("zk: accepts only the build's own verifier bytecode; any other code, however it behaves, is refused", async () => {
    const [deployer] = await ethers.getSigners();
    const executor = new ZkExecutor(BUILD, silent);
    const own = await deployVerifier(BUILD, deployer!);
    const ownCode = keccak256(await ethers.provider.getCode(own));
    // The deployed verifier is exactly the build's compiled bytecode (verifier.json).
    expect(ownCode).to.equal(loadVerifierArtifact(BUILD).codeHash);
    expect(executor.verifierCodeHash).to.equal(ownCode);
    const terms = (verifier: string, verifierCodeHash: string): Terms => ({
      operatorStake: STAKE,
      modeConfig: encodeZkConfig({ verifier, verifierCodeHash }),
    });
    await executor.checkTerms(terms(own, ownCode));
    // Same MODEL_HASH, another key or other logic (refusing proofs, or only outside eth_call): every honest
    // proof would fail in the transaction and the operator be slashed as a no-show.
    const refusing = await ethers.deployContract("RefusingVerifier", [executor.modelHash]);
    const refusingAddress = await refusing.getAddress();
    const refusingCode = keccak256(await ethers.provider.getCode(refusingAddress));
    const error = await refusal(executor.checkTerms(terms(refusingAddress, refusingCode)));
    expect(error.message).to.match(/not this build's/);
    const liar = await ethers.deployContract("LyingVerifier", [executor.modelHash]);
    const liarCode = keccak256(await ethers.provider.getCode(await liar.getAddress()));
    await refusal(executor.checkTerms(terms(await liar.getAddress(), liarCode)));
  });

  it("optimistic: refuses a dispute clock below the operator's minimum", async () => {
    const executor = new OptimisticExecutor(BUILD, silent);
    const { leafCount, paramRoot, tensorSizes } = executor.model.tree.commitment;
    const terms = (clock: number): Terms => ({
      operatorStake: STAKE,
      modeConfig: encodeOptimisticConfig({
        challengeWindow: 600,
        clock,
        challengerBond: 1n,
        leafCount,
        paramRoot,
        tensorSizes,
      }),
    });
    await executor.checkTerms(terms(DEFAULT_TERMS_POLICY.minClockSeconds), context());
    const error = await refusal(executor.checkTerms(terms(1), context()));
    expect(error.message).to.match(/dispute clock 1 s/);
    await refusal(
      executor.checkTerms(terms(600), { ...context(), policy: { ...DEFAULT_TERMS_POLICY, minClockSeconds: 900 } }),
    );
  });

  it("sampling: refuses a reveal window below the operator's minimum", async () => {
    const executor = await SamplingExecutor.create(BUILD, "0x" + "11".repeat(32), silent);
    const terms = (revealWindow: number): Terms => ({
      operatorStake: STAKE,
      modeConfig: encodeSamplingConfig({
        sampleBps: 5_000,
        verifierFeeBps: 10_000,
        samplerNoShowSlashBps: 1_000,
        maxDraws: 2,
        commitWindow: 600,
        revealWindow,
        arbitrator: ethers.ZeroAddress,
      }),
    });
    await executor.checkTerms(terms(600), context());
    await refusal(executor.checkTerms(terms(60), context()));
  });
});
