/**
 * Measures the gas of the main entry points on the in-process chain and writes gas-report.json.
 * CI regenerates it and fails when the committed file differs, so every gas change shows up in a diff.
 *
 * Run: npm run gas-report          (writes gas-report.json)
 *      npm run gas-report:check  (fails if gas-report.json is out of date)
 */
import { encodeOutput } from "../verifier-gen/src/encoding.js";
import { readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { ZeroHash, keccak256, parseEther, toUtf8Bytes, type ContractTransactionResponse } from "ethers";
import {
  DigitGate__factory,
  MockERC20__factory,
  MockVerificationModule__factory,
} from "../types/ethers-contracts/index.js";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";

const REPORT = "gas-report.json";
const check = process.env.GAS_REPORT_CHECK === "1";

const { ethers, networkHelpers } = await network.create();
const [deployer, treasury, user, operator, operator2] = await ethers.getSigners();
if (!deployer || !treasury || !user || !operator || !operator2) throw new Error("need 5 accounts");

const gas: Record<string, number> = {};
async function measure(name: string, tx: Promise<ContractTransactionResponse>): Promise<void> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error(`${name}: no receipt`);
  gas[name] = Number(receipt.gasUsed);
}

const { registry, vault, market } = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
const mock = await new MockVerificationModule__factory(deployer).deploy(await market.getAddress());
await (await registry.setModeModule(0, await mock.getAddress())).wait();
await (await mock.setAutoAccept(true)).wait();
const token = await new MockERC20__factory(deployer).deploy("Demo USD", "DUSD");
await (await market.setTokenAllowed(await token.getAddress(), true)).wait();
await (await token.mint(user.address, parseEther("1000"))).wait();
await (await token.connect(user).approve(await market.getAddress(), ethers.MaxUint256)).wait();

const price = parseEther("0.01");
await measure(
  "ModelRegistry.registerModel",
  registry.registerModel(keccak256(toUtf8Bytes("gas")), "ipfs://model", price, parseEther("0.5"), [
    { mode: 0, config: "0x" },
  ]),
);
await measure("ModelRegistry.setPrice", registry.setPrice(1n, await token.getAddress(), parseEther("5")));
for (const op of [operator, operator2]) {
  await measure("StakingVault.stake", vault.connect(op).stake(parseEther("5"), { value: parseEther("5") }));
  await measure("StakingVault.setService", vault.connect(op).setService(1n, 0, true));
}
const gate = await new DigitGate__factory(deployer).deploy(
  await market.getAddress(),
  1n,
  0,
  7,
  await market.termsHashOf(1n, 0),
);

const output = encodeOutput([7n]);
const input = new Uint8Array(64).fill(3);
const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
const base = {
  modelId: 1n,
  mode: 0,
  token: ethers.ZeroAddress,
  maxFee: price,
  deadline,
  input,
  inputHash: ethers.ZeroHash,
  inputURI: "",
  callback: ethers.ZeroAddress,
  callbackGasLimit: 0,
  termsHash: ZeroHash,
};
await measure(
  "InferenceMarket.createRequest (ETH, 64-byte input)",
  market.connect(user).createRequest(base, { value: price }),
);
await measure(
  "InferenceMarket.createRequest (ERC-20, input by hash)",
  market.connect(user).createRequest({
    ...base,
    token: await token.getAddress(),
    maxFee: parseEther("5"),
    input: "0x",
    inputHash: keccak256(input),
    inputURI: "ipfs://input",
  }),
);
await measure(
  "DigitGate.submitDigit (request with callback)",
  gate.connect(user).submitDigit(input, deadline, { value: price }),
);
await measure("InferenceMarket.claim", market.connect(operator).claim(1n));
await market.connect(operator).claim(2n);
await market.connect(operator).claim(3n);
await measure("InferenceMarket.submitResult (mock module)", market.connect(operator).submitResult(1n, output, "0x"));
await market.connect(operator).submitResult(2n, output, "0x");
await market.connect(operator).submitResult(3n, output, "0x");
await measure("InferenceMarket.finalize (no callback)", market.finalize(1n));
await measure("InferenceMarket.finalize (ERC-20)", market.finalize(2n));
await measure("InferenceMarket.finalize (DigitGate callback)", market.finalize(3n));
await measure("InferenceMarket.withdraw (ETH)", market.connect(operator).withdraw(ethers.ZeroAddress));

await market.connect(user).createRequest(base, { value: price });
await market.connect(operator).claim(4n);
await networkHelpers.time.increase(601);
await measure("InferenceMarket.reopen (no-show)", market.reopen(4n));
await networkHelpers.time.increase(3600);
await measure("InferenceMarket.refund", market.refund(4n));
await measure("StakingVault.requestUnbond", vault.connect(operator2).requestUnbond(parseEther("1")));
await networkHelpers.time.increase(DEFAULT_PARAMETERS.unbondingDelaySeconds);
await measure("StakingVault.withdraw", vault.connect(operator2).withdraw());
await measure("StakingVault.withdrawSlashProceeds", vault.connect(treasury).withdrawSlashProceeds());

const report = `${JSON.stringify({ solc: "0.8.28", optimizerRuns: 200, gas }, null, 2)}\n`;
if (check) {
  const committed = await readFile(REPORT, "utf8").catch(() => "");
  if (committed !== report) {
    process.stderr.write(`${REPORT} is out of date. Run \`npm run gas-report\` and commit the diff:\n${report}`);
    process.exit(1);
  }
  process.stdout.write(`${REPORT} is up to date\n`);
} else {
  await writeFile(REPORT, report);
  process.stdout.write(report);
}
