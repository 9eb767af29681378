// The PyTorch fixtures in zk, optimistic and sampling mode, end to end over JSON-RPC: registered from their
// builds, served by two operator processes (worker + sampler), paid from the CLI with floats, settled
// with the integer model's output. Optimistic: the challenge window passes unchallenged. Sampling at
// p = 100 %: the second operator recomputes the output blind, the commitments match, the result stands.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, parseEther } from "ethers";
import { devAccount } from "../../scripts/lib/accounts.js";
import { CHALLENGE_WINDOW, deployAllModes, type AllModesStack, type ModeName } from "../../scripts/lib/all-modes.js";
import type { Suite } from "../../scripts/lib/deploy.js";
import { startHardhatNode } from "../../scripts/lib/hardhat-node.js";
import { startOperatorProcess, stopProcess } from "../../scripts/lib/operator-process.js";
import type { SamplingStack } from "../../scripts/lib/sampling.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { interfaceOf, quantizeFloatInput } from "../../verifier-gen/src/interface.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";
import { veriml } from "../helpers/cli.js";

const MODELS = [
  { name: "iris_mlp", kind: "logits" },
  { name: "diabetes_relu", kind: "values" },
] as const;

interface CliOutcome {
  status: string;
  decoded: { kind: string; quantized: string[]; values: number[]; label?: number } | null;
  steps: { step: string }[];
}

describe("e2e: PyTorch fixtures in zk, optimistic and sampling mode, paid with floats from the CLI", function () {
  this.timeout(600_000);
  let node: ChildProcess;
  let provider: JsonRpcProvider;
  let rpcUrl: string;
  let suite: Suite;
  let samplingStack: SamplingStack;
  let served: AllModesStack["served"];
  let workDir: string;
  const operators: ChildProcess[] = [];
  const ids = new Map<string, Record<ModeName, bigint>>();

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-own-modes-"));
    ({ child: node, rpcUrl } = await startHardhatNode());
    provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
    const stack = await deployAllModes(
      provider,
      MODELS.map((m) => `models/build/${m.name}`),
    );
    ({ suite, served } = stack);
    samplingStack = stack.sampling;
    for (const [build, modelIds] of stack.ids) ids.set(build.replace("models/build/", ""), modelIds);
    for (const account of [3, 4]) {
      const { child } = await startOperatorProcess({
        workDir: path.join(workDir, `operator-${account}`),
        rpcUrl,
        market: await suite.market.getAddress(),
        privateKey: devAccount(account, provider).privateKey,
        models: served,
        stakeWei: parseEther("10"),
        roles: ["worker", "sampler"],
      });
      operators.push(child);
    }
    const firstSampled = ids.get(MODELS[0].name)!.sampling;
    const until = Date.now() + 120_000;
    while ((await suite.vault.serverCount(firstSampled, 0)) < 2n) {
      if (Date.now() > until) throw new Error("operators did not start serving");
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  after(async () => {
    for (const child of operators) await stopProcess(child, "SIGTERM");
    provider?.destroy();
    if (node) await stopProcess(node, "SIGKILL");
    await rm(workDir, { recursive: true, force: true });
  });

  /** Runs `veriml request` while the chain keeps moving (blocks for randomness, time past windows). */
  async function requestFromCli(
    modelId: bigint,
    mode: string,
    values: number[],
    moveTime: boolean,
  ): Promise<CliOutcome> {
    const before = await suite.market.requestCount();
    const market = await suite.market.getAddress();
    const cli = veriml(
      ["request", "--model", String(modelId), "--mode", mode, "--values", values.join(","), "--timeout", "300"],
      { rpcUrl, market },
      devAccount(2, provider).privateKey,
    ).then((r) => {
      if (!r.ok) throw new Error(r.stderr);
      return r.stdout;
    });
    let done = false;
    void cli.finally(() => (done = true)).catch(() => undefined);
    while (!done) {
      await new Promise((r) => setTimeout(r, 500));
      if ((await suite.market.requestCount()) === before) continue;
      const id = before + 1n;
      const status = (await suite.market.getRequest(id)).status;
      // Submitted and unchallenged: let the challenge window pass (an automining chain has no clock).
      if (moveTime && status === 3n) await provider.send("evm_increaseTime", [CHALLENGE_WINDOW + 1]);
      await provider.send("evm_mine", []);
    }
    const stdout = await cli;
    return JSON.parse(stdout.slice(stdout.indexOf("{"))) as CliOutcome;
  }

  for (const { name, kind } of MODELS) {
    for (const mode of ["zk", "optimistic", "sampling"] as const) {
      it(`${name} in ${mode} mode: floats in, the integer model's ${kind} out, decoded`, async () => {
        const model = loadModelDir(`models/build/${name}`);
        const data = JSON.parse(readFileSync(`models/pytorch/${name}.json`, "utf8")) as {
          inputs: number[][];
          labels?: number[];
        };
        const x = data.inputs[1]!;
        const modelId = ids.get(name)![mode];
        const outcome = await requestFromCli(modelId, mode, x, mode === "optimistic");
        expect(outcome.status).to.equal("Finalized");
        const expected = runInt(model.graph, quantizeFloatInput(interfaceOf(model.manifest), x).q).output;
        expect(outcome.decoded!.quantized.map(Number)).to.deep.equal(Array.from(expected));
        expect(outcome.decoded!.kind).to.equal(kind);
        if (kind === "logits") expect(outcome.decoded!.label).to.equal(data.labels![1]);
        expect(outcome.steps.map((s) => s.step)).to.include.members(["create", "claim", "submit", "finalize"]);
        if (mode === "sampling") {
          // Sampled (p = 100 %): the other operator recomputed blind and both revealed the same output.
          const job = await samplingStack.sampling.getJob(await suite.market.requestCount());
          expect(job.sampled).to.equal(true);
          expect(job.sampler).to.not.equal(job.operator);
          expect(job.samplerOutputHash).to.equal(job.operatorOutputHash);
        }
      });
    }
  }
});
