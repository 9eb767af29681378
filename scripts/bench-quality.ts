/**
 * PoQ bench: cross-encoder scoring latency on CPU (median, p95, per pair and batched), held-out AUC,
 * generator accuracy, consensus gas per request (draw, k commits, k reveals, resolve, finalize), and the
 * committee settle time with the real bots on the in-process chain. Writes bench/results/quality.json.
 *
 * Run: npx hardhat run scripts/bench-quality.ts   (BENCH_REQUESTS=n, default 4)
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { network } from "hardhat";
import { hexlify, randomBytes, toUtf8Bytes, type ContractTransactionResponse } from "ethers";
import { pino } from "pino";
import { PROMPT_TEMPLATES, allQuestions, auc, isCorrect, prompt } from "../operator/src/quality/arith.js";
import { CrossEncoder } from "../operator/src/quality/evaluator.js";
import { OnnxGenerator } from "../operator/src/quality/generators.js";
import { BotHarness, PRICE, deployQualityStack, requestQuality, type Chain } from "./quality/harness.js";
import { deliverPendingRandomness } from "./lib/randomness.js";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4);
const log = pino({ level: "silent" });
const CROSS_ENCODER = "models/quality/cross-encoder";

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round = (x: number, d = 3) => Number(x.toFixed(d));

// ---------------------------------------------------------------- evaluator
const heldOut = JSON.parse(readFileSync("data/quality/arith-heldout.json", "utf8")) as {
  examples: { prompt: string; response: string; label: number }[];
};
const encoder = await CrossEncoder.load(CROSS_ENCODER, log);
for (const e of heldOut.examples.slice(0, 20)) await encoder.score(e.prompt, e.response); // warm-up
const latencies: number[] = [];
for (const e of heldOut.examples.slice(0, 300)) {
  const t = performance.now();
  await encoder.score(e.prompt, e.response);
  latencies.push(performance.now() - t);
}
const batchStart = performance.now();
const batchScores = await encoder.scoreBatch(heldOut.examples);
const batchMs = performance.now() - batchStart;
const heldOutAuc = auc(
  batchScores.map((s) => s.logit),
  heldOut.examples.map((e) => e.label),
);

console.log(`scoring: median ${quantile(latencies, 0.5).toFixed(3)} ms, held-out AUC ${heldOutAuc.toFixed(4)}`);

// ---------------------------------------------------------------- generators
const good = await OnnxGenerator.load("models/quality/gen-good", log);
const cheap = await OnnxGenerator.load("models/quality/gen-cheap", log);
const generatorStats: Record<string, { accuracy: number; meanScore: number; acceptedAtThreshold: number }> = {};
for (const gen of [good, cheap]) {
  let right = 0;
  let scoreSum = 0;
  let accepted = 0;
  let n = 0;
  for (const q of allQuestions()) {
    for (let t = 0; t < PROMPT_TEMPLATES.length; t++) {
      const p = prompt(q, t);
      const r = await gen.generate(p);
      right += isCorrect(p, r) ? 1 : 0;
      const { score } = await encoder.score(p, r);
      scoreSum += score;
      accepted += score >= 5_000 ? 1 : 0;
      n++;
    }
  }
  generatorStats[gen.name] = {
    accuracy: round(right / n),
    meanScore: Math.round(scoreSum / n),
    acceptedAtThreshold: round(accepted / n),
  };
}

console.log("generators", generatorStats);

// ---------------------------------------------------------------- consensus gas
const { ethers, networkHelpers } = await network.create();
const signers = await ethers.getSigners();
const chain: Chain = { provider: ethers.provider, mine: (b) => networkHelpers.mine(b), signers };
const OPERATOR = 3;
const VALIDATORS = [4, 5, 6, 7, 8];
const stack = await deployQualityStack(chain, [OPERATOR], VALIDATORS);
const user = signers[2]!;
const operator = signers[OPERATOR]!;
const gasOf = async (tx: Promise<ContractTransactionResponse>) => (await (await tx).wait())!.gasUsed;
const gas = {
  submit: [] as bigint[],
  draw: [] as bigint[],
  commit: [] as bigint[],
  reveal: [] as bigint[],
  resolve: [] as bigint[],
  finalize: [] as bigint[],
};
for (let r = 0; r < REQUESTS; r++) {
  const q = { a: (r * 7) % 20, b: (r * 11 + 3) % 20 };
  const text = prompt(q);
  const id = await requestQuality(stack, user, text, await networkHelpers.time.latest());
  await (await stack.market.connect(operator).claim(id)).wait();
  gas.submit.push(
    await gasOf(stack.market.connect(operator).submitResult(id, toUtf8Bytes(await good.generate(text)), "0x")),
  );
  await deliverPendingRandomness(networkHelpers, user, stack.randomness);
  gas.draw.push(await gasOf(stack.quality.drawCommittee(id)));
  const members = await stack.quality.getMembers(id);
  const response = await good.generate(text);
  const { score } = await encoder.score(text, response);
  const salts = members.map(() => hexlify(randomBytes(32)));
  for (let i = 0; i < members.length; i++) {
    const v = signers.find((s) => s.address === members[i]!.validator)!;
    const c = await stack.quality.commitmentOf(id, v.address, score, salts[i]!);
    gas.commit.push(await gasOf(stack.quality.connect(v).commitScore(id, c)));
  }
  for (let i = 0; i < members.length; i++) {
    const v = signers.find((s) => s.address === members[i]!.validator)!;
    gas.reveal.push(await gasOf(stack.quality.connect(v).revealScore(id, score, salts[i]!)));
  }
  gas.resolve.push(await gasOf(stack.quality.resolve(id)));
  gas.finalize.push(await gasOf(stack.market.finalize(id)));
}
console.log("gas samples", Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, v.length])));
const mean = (xs: bigint[]) => Number(xs.reduce((a, b) => a + b, 0n) / BigInt(xs.length));
const gasMeans = Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, mean(v)])) as Record<
  keyof typeof gas,
  number
>;
const k = 3;
const consensusGas = gasMeans.draw + k * gasMeans.commit + k * gasMeans.reveal + gasMeans.resolve + gasMeans.finalize;

// ---------------------------------------------------------------- committee settle time (bots)
const harness = new BotHarness(chain, stack, log);
const worker = await harness.start(OPERATOR, ["worker"], good);
const validators = [];
for (const i of VALIDATORS) validators.push(await harness.start(i, ["validator"], undefined, CROSS_ENCODER));
const settle: { ms: number; blocks: number; chainSeconds: number }[] = [];
for (let r = 0; r < REQUESTS; r++) {
  const text = prompt({ a: (r * 5 + 2) % 20, b: (r * 3 + 9) % 20 }, r % PROMPT_TEMPLATES.length);
  const id = await requestQuality(stack, user, text, await networkHelpers.time.latest());
  let submittedBlock = 0;
  let submittedAt = 0;
  await harness.runUntil([worker, ...validators], async () => {
    const job = await stack.quality.getJob(id);
    if (job.submittedAt > 0n && submittedBlock === 0) {
      submittedBlock = await ethers.provider.getBlockNumber();
      submittedAt = performance.now();
    }
    return submittedBlock > 0;
  });
  const chainStart = (await stack.quality.getJob(id)).submittedAt;
  await harness.runUntil([worker, ...validators], async () => (await stack.market.getRequest(id)).status >= 4n);
  const head = await ethers.provider.getBlock("latest");
  settle.push({
    ms: performance.now() - submittedAt,
    blocks: head!.number - submittedBlock,
    chainSeconds: Number(BigInt(head!.timestamp) - chainStart),
  });
}
await harness.close([worker, ...validators]);

const result = {
  date: new Date().toISOString(),
  crossEncoder: {
    folder: CROSS_ENCODER,
    heldOutExamples: heldOut.examples.length,
    heldOutAuc: round(heldOutAuc, 4),
    scoreLatencyMs: {
      median: round(quantile(latencies, 0.5)),
      p95: round(quantile(latencies, 0.95)),
      pairs: latencies.length,
    },
    batchedPerPairMs: round(batchMs / heldOut.examples.length, 4),
  },
  generators: generatorStats,
  gas: {
    perStep: gasMeans,
    consensusPerRequest: consensusGas,
    committeeSize: k,
    requests: REQUESTS,
    price: PRICE.toString(),
  },
  settle: {
    medianMs: round(
      quantile(
        settle.map((s) => s.ms),
        0.5,
      ),
      1,
    ),
    medianBlocks: quantile(
      settle.map((s) => s.blocks),
      0.5,
    ),
    medianChainSeconds: quantile(
      settle.map((s) => s.chainSeconds),
      0.5,
    ),
    note: "submit -> finalized; worker + 5 validator bots (committee of 3) in-process, one block mined per bot round",
  },
};
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/quality.json", JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
await encoder.close();
await good.close();
await cheap.close();
