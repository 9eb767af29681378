/**
 * Proof of Quality demo on Hardhat's in-process chain: one generative model registered in quality mode,
 * two operators serving it (an honest one running the good generator, a cheat quietly running the cheap,
 * worse one), five validator bots scoring with the project's tiny BERT cross-encoder. Each operator answers
 * one request; the committee's median decides: the good answer is paid, the cheap one refused and slashed.
 *
 * Run: npx hardhat run scripts/demo-quality.ts
 */
import { network } from "hardhat";
import { formatEther, toUtf8String } from "ethers";
import { pino } from "pino";
import { isCorrect, prompt } from "../operator/src/quality/arith.js";
import { OnnxGenerator } from "../operator/src/quality/generators.js";
import { BotHarness, QUALITY_CONFIG, deployQualityStack, requestQuality, type Chain } from "./quality/harness.js";

const CROSS_ENCODER = "models/quality/cross-encoder";
const HONEST = 3;
const CHEAT = 9;
const VALIDATORS = [4, 5, 6, 7, 8];
const log = pino({ level: process.env.DEMO_LOG ?? "silent" });

const { ethers, networkHelpers } = await network.create();
const signers = await ethers.getSigners();
const chain: Chain = { provider: ethers.provider, mine: (b) => networkHelpers.mine(b), signers };
const stack = await deployQualityStack(chain, [HONEST, CHEAT], VALIDATORS);
const user = signers[2]!;
console.log(
  `quality module ${await stack.quality.getAddress()}  model ${stack.modelId}: committee ${QUALITY_CONFIG.committeeSize}, ` +
    `threshold ${QUALITY_CONFIG.threshold / 100}%, operator slash ${QUALITY_CONFIG.operatorSlashBps / 100}% of its lock`,
);

const good = await OnnxGenerator.load("models/quality/gen-good", log);
const cheap = await OnnxGenerator.load("models/quality/gen-cheap", log);
const harness = new BotHarness(chain, stack, log);
const validators = [];
for (const i of VALIDATORS) validators.push(await harness.start(i, ["validator"], undefined, CROSS_ENCODER));
const honest = await harness.start(HONEST, ["worker"], good);
const cheat = await harness.start(CHEAT, ["worker"], cheap);

const rows = [];
for (const [who, bot, gen, question] of [
  ["honest", honest, good, { a: 13, b: 9 }],
  ["cheat", cheat, cheap, { a: 4, b: 17 }],
] as const) {
  const text = prompt(question);
  const before = (await stack.vault.stakeOf(bot.address)).total;
  const id = await requestQuality(stack, user, text, await networkHelpers.time.latest());
  // Only this operator's worker runs, so it is the one that claims the request.
  await harness.runUntil([bot, ...validators], async () => (await stack.market.getRequest(id)).status >= 4n);
  const job = await stack.quality.getJob(id);
  const members = await stack.quality.getMembers(id);
  const [submitted] = await stack.market.queryFilter(stack.market.filters.ResultSubmitted(id));
  const response = toUtf8String(submitted!.args.output);
  rows.push({
    request: Number(id),
    operator: `${who} (${gen.name})`,
    prompt: text,
    response,
    correct: isCorrect(text, response),
    scores: members.map((m) => m.score).join(" "),
    median: Number(job.median),
    verdict: job.accepted ? "PAID" : "REFUSED",
    "operator owed (ETH)": formatEther(await stack.market.owed(bot.address, ethers.ZeroAddress)),
    "operator slashed (ETH)": formatEther(before - (await stack.vault.stakeOf(bot.address)).total),
  });
}
console.table(rows);
const paid = rows.filter((r) => r.verdict === "PAID").length;
console.log(`${paid} paid, ${rows.length - paid} refused; validator rewards owed:`);
for (const v of validators) {
  const owed = await stack.market.owed(v.address, ethers.ZeroAddress);
  if (owed > 0n) console.log(`  validator ${v.address.slice(0, 10)}...  ${formatEther(owed)} ETH`);
}
await harness.close([honest, cheat, ...validators]);
await good.close();
await cheap.close();
if (rows[0]!.verdict !== "PAID" || rows[1]!.verdict !== "REFUSED") {
  throw new Error("demo expected the honest answer paid and the cheap one refused");
}
console.log(
  "\nnext: `npm run app` opens these four modes in a web page (a local chain, operators, and the URL to open)",
);
