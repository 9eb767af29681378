// A user's own PyTorch models, exactly as exported (models/pytorch/), end to end over JSON-RPC in zk mode:
// built by verifier-gen, registered, served by the operator process, paid from the CLI with floats in the
// model's own input space, and read back decoded: iris_mlp (signed standardized inputs, logits out) and
// diabetes_relu (regression, one value out). Bad input is refused before anything is paid.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, parseEther } from "ethers";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { interfaceOf, quantizeFloatInput } from "../../verifier-gen/src/interface.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";
import { startHardhatNode } from "../../scripts/lib/hardhat-node.js";
import { startOperatorProcess, stopProcess } from "../../scripts/lib/operator-process.js";
import { MODE_ZK, zkConfigFor } from "../../scripts/lib/zk.js";
import { registerModel } from "../../scripts/lib/deploy.js";
import { RefusingVerifier__factory } from "../../types/ethers-contracts/index.js";
import { deployZkStack, type ZkStack } from "../../scripts/lib/zk-stack.js";
import { veriml } from "../helpers/cli.js";

interface Decoded {
  status: string;
  decoded: { kind: string; quantized: string[]; values: number[]; label?: number } | null;
  steps: { step: string; gasUsed: string }[];
}

const MODELS = [
  { name: "iris_mlp", kind: "logits" },
  { name: "diabetes_relu", kind: "values" },
  { name: "wine_probs", kind: "probabilities" },
] as const;

for (const { name, kind } of MODELS) {
  describe(`e2e: ${name} as exported by PyTorch, paid with floats from the CLI (zk)`, function () {
    this.timeout(300_000);
    const build = `models/build/${name}`;
    const model = loadModelDir(build);
    const data = JSON.parse(readFileSync(`models/pytorch/${name}.json`, "utf8")) as {
      inputs: number[][];
      labels?: number[];
      targets?: number[];
    };
    let node: ChildProcess;
    let operator: ChildProcess | undefined;
    let provider: JsonRpcProvider;
    let stack: ZkStack;
    let rpcUrl: string;
    let workDir: string;

    const cli = async (args: string[], key: string | null = stack.accounts[2]!.privateKey) =>
      veriml(args, { rpcUrl, market: await stack.market.getAddress() }, key);

    before(async () => {
      workDir = await mkdtemp(path.join(tmpdir(), `veriml-${name}-`));
      ({ child: node, rpcUrl } = await startHardhatNode());
      provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
      stack = await deployZkStack(provider, build, 0);
      operator = (
        await startOperatorProcess({
          workDir,
          rpcUrl,
          market: await stack.market.getAddress(),
          privateKey: stack.accounts[3]!.privateKey,
          models: [{ modelId: stack.modelId, artifacts: build, modes: [MODE_ZK] }],
          stakeWei: parseEther("5"),
        })
      ).child;
    });
    after(async () => {
      if (operator) await stopProcess(operator, "SIGTERM");
      provider?.destroy();
      if (node) await stopProcess(node, "SIGKILL");
      await rm(workDir, { recursive: true, force: true });
    });

    it(`the manifest declares the interface: signed ${model.manifest.input.encoding.bytes}-byte inputs, ${kind} out`, () => {
      const i = interfaceOf(model.manifest);
      expect(i.output.kind).to.equal(kind);
      expect(i.input.lo).to.be.lessThan(0);
      expect(i.input.encoding.signed).to.equal(true);
    });

    it("pays with the model's float inputs and prints the verified output, decoded and dequantized", async () => {
      const x = data.inputs[0]!;
      const result = await cli([
        "request",
        "--json",
        "--model",
        String(stack.modelId),
        "--values",
        x.join(","),
        "--timeout",
        "240",
      ]);
      expect(result.ok, result.stderr).to.equal(true);
      const out = JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as Decoded;
      expect(out.status).to.equal("Finalized");
      // The settled values are the registered integer model's, on the floats quantized by the manifest.
      const expected = runInt(model.graph, quantizeFloatInput(interfaceOf(model.manifest), x).q).output;
      expect(out.decoded!.quantized.map(Number)).to.deep.equal(Array.from(expected));
      expect(out.decoded!.kind).to.equal(kind);
      if (kind === "logits" || kind === "probabilities") {
        expect(out.decoded!.label).to.equal(data.labels![0]);
        if (kind === "probabilities") {
          // Probabilities in [0, 1] that sum to 1 within a rounding step per class.
          const sum = out.decoded!.values.reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - 1)).to.be.at.most(out.decoded!.values.length / 255);
          out.decoded!.values.forEach((p) => expect(p).to.be.within(0, 1));
        }
      } else {
        // The dequantized prediction is close to what the float PyTorch model predicts for this row.
        const floatOut = (JSON.parse(readFileSync(`models/pytorch/${name}.json`, "utf8")) as { float_out: number[][] })
          .float_out[0]![0]!;
        expect(Math.abs(out.decoded!.values[0]! - floatOut)).to.be.lessThan(Math.abs(floatOut) * 0.1 + 5);
      }
      expect(out.steps.map((s) => s.step)).to.deep.equal(["create", "fulfill"]);
      for (const s of out.steps) expect(Number(s.gasUsed)).to.be.greaterThan(21_000);
      // Without --json: a summary a person reads, the decoded output first, then gas per step.
      const summary = await cli(["request", "--model", String(stack.modelId), "--values", x.join(",")]);
      expect(summary.ok, summary.stderr).to.equal(true);
      const kindLine = kind === "values" ? "values [" : `label ${data.labels![0]}; ${kind} [`;
      expect(summary.stdout).to.match(/request \d+ Finalized after \d+\.\d\d s/);
      expect(summary.stdout).to.include(`output: ${kindLine}`);
      expect(summary.stdout).to.match(/\nfulfill\s+\d{3},\d{3}\s+0x[0-9a-f]{64}/);
      expect(summary.stdout).to.match(/\ntotal\s+\d/);
    });

    if (name === "iris_mlp") {
      it("models and quote need no key; stake and unbond act; a refused call names its custom error", async () => {
        const models = await cli(["models"], null);
        expect(models.ok, models.stderr).to.equal(true);
        expect(models.stdout).to.include(stack.modelHash);
        const quote = await cli(["quote", "--model", String(stack.modelId)], null);
        expect(JSON.parse(quote.stdout)).to.deep.include({ price: "0.01", name: "iris_mlp" });
        expect(JSON.parse(quote.stdout).expectedGas.basis).to.equal(
          "measured for iris_mlp (bench/results/own-models.json)",
        );
        const staked = await cli(["stake", "0.5"]);
        expect(staked.ok, staked.stderr).to.equal(true);
        expect(JSON.parse(staked.stdout).stake.total).to.equal(parseEther("0.5").toString());
        const unbonding = await cli(["unbond", "0.2"]);
        expect(JSON.parse(unbonding.stdout).stake.unbonding).to.equal(parseEther("0.2").toString());
        // Nothing is owed to the user: the market refuses, and the CLI says so in the contract's words.
        const withdrawn = await cli(["withdraw"]);
        expect(withdrawn.ok).to.equal(false);
        expect(withdrawn.stderr).to.match(
          /the chain refused: InferenceMarketNothingOwed\(0x[0-9a-fA-F]{40}, 0x0{40}\)/,
        );
        // Request 1 was answered: refunding it is refused, and the error says why in the contract's words.
        const refused = await cli(["refund", "1"]);
        expect(refused.ok).to.equal(false);
        expect(refused.stderr).to.match(/the chain refused: InferenceMarket[A-Za-z]+\(1/);
        const noKey = await cli(["stake", "1"], null);
        expect(noKey.stderr).to.match(/signing needs the requester's key: set VERIML_REQUESTER_KEY/);
      });

      it("a build whose manifest or integer graph was altered (input scale, output kind) is refused before paying", async () => {
        const before = await stack.market.requestCount();
        type Altered = { input: { scale: number }; output: { kind?: string; meaning?: string } };
        const cases: [string, (j: Altered) => void, RegExp][] = [
          ["manifest.json", (m) => (m.input.scale *= 2), /does not match the committed integer graph/],
          ["manifest.json", (m) => (m.output.kind = "probabilities"), /does not match the committed integer graph/],
          [
            "intgraph.json",
            (g) => (g.input.scale *= 2),
            /is the build of 0x[0-9a-f]{64}, but model 1 is registered as/,
          ],
          [
            "intgraph.json",
            (g) => (g.output.meaning = "probabilities"),
            /is the build of 0x[0-9a-f]{64}, but model 1 is registered as/,
          ],
        ];
        // Each altered build is its own copy and CLI process (nothing is sent): run concurrently.
        await Promise.all(
          cases.map(async ([file, alter, message], n) => {
            const copy = path.join(workDir, `altered-${n}`);
            await cp(build, copy, { recursive: true });
            const json = JSON.parse(readFileSync(path.join(copy, file), "utf8")) as Altered;
            alter(json);
            await writeFile(path.join(copy, file), JSON.stringify(json));
            const values = data.inputs[0]!.join(",");
            const result = await cli([
              "request",
              "--json",
              "--model",
              String(stack.modelId),
              "--values",
              values,
              "--artifacts",
              copy,
            ]);
            expect(result.ok).to.equal(false);
            expect(result.stderr).to.match(message);
          }),
        );
        expect(await stack.market.requestCount()).to.equal(before);
      });

      it("an operator configured for a mode the model does not enable refuses to start, saying so", async () => {
        const { child, logFile } = await startOperatorProcess({
          workDir: path.join(workDir, "wrong-mode"),
          rpcUrl,
          market: await stack.market.getAddress(),
          privateKey: stack.accounts[4]!.privateKey,
          models: [{ modelId: stack.modelId, artifacts: build, modes: [1] }],
          stakeWei: parseEther("1"),
        });
        const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
        expect(code).to.not.equal(0);
        expect(readFileSync(logFile, "utf8")).to.match(/model 1 does not enable mode 1; its registered modes are 0/);
      });

      it("a copy under the same name is refused by name; an operator does not serve a build its verifier refuses", async () => {
        // Anyone may register the same build again: here with a verifier that refuses every proof.
        const owner = stack.accounts[5]!;
        const refusing = await new RefusingVerifier__factory(owner).deploy(model.manifest.modelHash);
        await refusing.waitForDeployment();
        const copyId = await registerModel(stack.registry, owner, {
          modelHash: model.manifest.modelHash,
          artifactURI: `file://${path.resolve(build)}`,
          ethPrice: parseEther("0.02"),
          operatorStake: parseEther("0.5"),
          modes: [{ mode: MODE_ZK, config: await zkConfigFor(await refusing.getAddress(), owner) }],
        });
        try {
          const before = await stack.market.requestCount();
          const byName = await cli(["request", "--model", name, "--values", data.inputs[0]!.join(",")]);
          expect(byName.ok).to.equal(false);
          expect(byName.stderr).to.include(`2 active models are named "${name}": ${stack.modelId} (owner`);
          expect(byName.stderr).to.include(`${copyId} (owner ${owner.address}`);
          // Choosing the owner resolves it; a price cap refuses the copy's higher price before paying.
          const capped = await cli([
            "request",
            "--model",
            name,
            "--owner",
            owner.address,
            "--max-price",
            "0.015",
            "--values",
            data.inputs[0]!.join(","),
          ]);
          expect(capped.stderr).to.match(new RegExp(`model ${copyId} costs 0\\.02\\d* now, above --max-price 0\\.015`));
          expect(await stack.market.requestCount()).to.equal(before);
          // An operator configured for both: the self-test proof is refused by the copy's verifier, so the copy
          // is neither served nor declared (it would be drawn and slashed), and the original still is.
          const { child, logFile } = await startOperatorProcess({
            workDir: path.join(workDir, "self-test"),
            rpcUrl,
            market: await stack.market.getAddress(),
            privateKey: stack.accounts[4]!.privateKey,
            models: [
              { modelId: stack.modelId, artifacts: build, modes: [MODE_ZK] },
              { modelId: copyId, artifacts: build, modes: [MODE_ZK] },
            ],
            stakeWei: parseEther("2"),
          });
          try {
            const operator = stack.accounts[4]!.address;
            const until = Date.now() + 60_000;
            while (!(await stack.vault.isServing(operator, stack.modelId, 0))) {
              if (Date.now() > until) throw new Error(`operator did not start: ${readFileSync(logFile, "utf8")}`);
              await new Promise((r) => setTimeout(r, 250));
            }
            expect(await stack.vault.isServing(operator, copyId, 0)).to.equal(false);
            expect(readFileSync(logFile, "utf8")).to.match(
              /refuses this build's proofs.*model not served: self-test failed/s,
            );
            expect(child.exitCode).to.equal(null);
          } finally {
            await stopProcess(child, "SIGTERM");
          }
        } finally {
          await (await stack.registry.connect(owner).setActive(copyId, false)).wait();
        }
      });
    }

    it("refuses bad input before paying: wrong count, out of range, not a number, a mode not served, an unknown model", async () => {
      const before = await stack.market.requestCount();
      const balance = await provider.getBalance(stack.accounts[2]!.address);
      const n = data.inputs[0]!.length;
      const cases: [string[], RegExp][] = [
        [["--values", data.inputs[0]!.slice(1).join(",")], new RegExp(`${n - 1} values, the model takes ${n}`)],
        [["--values", [1e6, ...data.inputs[0]!.slice(1)].join(",")], /outside the model's range/],
        [["--values", ["abc", ...data.inputs[0]!.slice(1)].join(",")], /not a number/],
        [
          ["--values", data.inputs[0]!.join(","), "--mode", "optimistic"],
          new RegExp(`model ${stack.modelId} is not served in mode optimistic; it enables zk`),
        ],
      ];
      // Each refusal is its own CLI process, independent of the others (nothing is sent): run concurrently.
      const [unknown, ...results] = await Promise.all([
        cli(["request", "--model", "no_such_model", "--values", data.inputs[0]!.join(",")]),
        ...cases.map(([args]) => cli(["request", "--model", String(stack.modelId), ...args])),
      ]);
      expect(unknown!.stderr).to.match(/no active model named "no_such_model" is registered/);
      results.forEach((result, i) => {
        expect(result.ok).to.equal(false);
        expect(result.stderr).to.match(cases[i]![1]);
      });
      expect(await stack.market.requestCount()).to.equal(before);
      expect(await provider.getBalance(stack.accounts[2]!.address)).to.equal(balance);
    });
  });
}
