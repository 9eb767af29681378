/**
 * The main job on the in-process chain: deploy the suite, register a model served through the
 * test-only mock verification module, stake an operator, pay for an inference from a user and from
 * the example DigitGate consumer, settle both, and print what happened.
 *
 * Run: npm run demo
 */
import { network } from "hardhat";
import { parseEther, formatEther, AbiCoder, keccak256, toUtf8Bytes, type ContractTransactionReceipt } from "ethers";
import { DigitGate__factory, MockVerificationModule__factory } from "../types/ethers-contracts/index.js";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";

const MODE_MOCK = 0;
const abi = AbiCoder.defaultAbiCoder();

const { ethers, networkHelpers } = await network.create();
const [deployer, treasury, user, operator] = await ethers.getSigners();
if (!deployer || !treasury || !user || !operator) throw new Error("the in-process chain needs 4 accounts");

const rows: [string, string, string][] = [];
function step(what: string, receipt: ContractTransactionReceipt | null, detail = ""): void {
  rows.push([what, receipt ? receipt.gasUsed.toString() : "-", detail]);
}

const { registry, vault, market } = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
const mock = await new MockVerificationModule__factory(deployer).deploy(await market.getAddress());
await mock.waitForDeployment();
await (await registry.setModeModule(MODE_MOCK, await mock.getAddress())).wait();
await (await mock.setFeeBps(1_000)).wait();
console.log(
  `registry ${await registry.getAddress()}\nvault    ${await vault.getAddress()}\nmarket   ${await market.getAddress()}`,
);
console.log("mode 0 -> MockVerificationModule (scripted verdicts; the real modes arrive with their issues)\n");

const price = parseEther("0.01");
const operatorStake = parseEther("0.5");
const modelHash = keccak256(toUtf8Bytes("demo-digits-model"));
let receipt = await (
  await registry.registerModel(modelHash, "ipfs://demo-digits", price, operatorStake, [
    { mode: MODE_MOCK, config: "0x" },
  ])
).wait();
step(
  "registerModel",
  receipt,
  `model 1, price ${formatEther(price)} ETH, stake/request ${formatEther(operatorStake)} ETH`,
);
const modelId = 1n;

receipt = await (await vault.connect(operator).stake(parseEther("2"), { value: parseEther("2") })).wait();
step("operator stake", receipt, "2 ETH");
receipt = await (await vault.connect(operator).setService(modelId, 0, true)).wait();
step("operator serves model", receipt);

const gate = await new DigitGate__factory(deployer).deploy(await market.getAddress(), modelId, MODE_MOCK, 7);
await gate.waitForDeployment();

const [quotedPrice, fee] = await market.quote(modelId, MODE_MOCK, ethers.ZeroAddress);
const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
const pixels = new Uint8Array(64).map((_, i) => (i * 7) % 17);

// 1. A user pays directly, overpaying a little: the excess becomes withdrawable at once.
receipt = await (
  await market.connect(user).createRequest(
    {
      modelId,
      mode: MODE_MOCK,
      token: ethers.ZeroAddress,
      maxFee: quotedPrice + fee + 1000n,
      deadline,
      input: pixels,
      inputHash: ethers.ZeroHash,
      inputURI: "",
      callback: ethers.ZeroAddress,
      callbackGasLimit: 0,
    },
    { value: quotedPrice + fee + 1000n },
  )
).wait();
step("user createRequest", receipt, `request 1, escrow ${formatEther(quotedPrice + fee)} ETH`);

// 2. The DigitGate consumer contract requests on behalf of a user and acts on the result.
receipt = await (await gate.connect(user).submitDigit(pixels, deadline, { value: quotedPrice + fee })).wait();
step("DigitGate.submitDigit", receipt, "request 2 with callback");

for (const requestId of [1n, 2n]) {
  receipt = await (await market.connect(operator).claim(requestId)).wait();
  step(`claim ${requestId}`, receipt, `locks ${formatEther(operatorStake)} ETH`);
  const label = 7n;
  receipt = await (
    await market.connect(operator).submitResult(requestId, abi.encode(["uint256"], [label]), "0x")
  ).wait();
  step(`submitResult ${requestId}`, receipt, `label ${label}`);
  // The mock stands in for a real module's verdict: accept, and reward the operator's verification fee back.
  await (
    await mock.setVerdict(requestId, {
      accepted: true,
      output: abi.encode(["uint256"], [label]),
      payee: operator.address,
      operatorSlash: 0n,
      slashBeneficiary: ethers.ZeroAddress,
      rewards: [{ to: treasury.address, amount: fee / 2n }],
    })
  ).wait();
  receipt = await (await market.connect(operator).finalize(requestId)).wait();
  step(`finalize ${requestId}`, receipt, "operator paid (pull), fee to treasury");
}

const before = await ethers.provider.getBalance(operator.address);
receipt = await (await market.connect(operator).withdraw(ethers.ZeroAddress)).wait();
step("operator withdraw", receipt);
const after = await ethers.provider.getBalance(operator.address);

console.log("step                    gas      detail");
for (const [what, gas, detail] of rows) console.log(`${what.padEnd(23)} ${gas.padStart(7)}  ${detail}`);
console.log("");
console.log(
  `DigitGate: request 2 label ${(await gate.classification(2n)).label}, user passed the gate: ${await gate.passed(user.address)}`,
);
console.log(`operator received ${formatEther(after - before + receipt!.gasUsed * receipt!.gasPrice)} ETH`);
console.log(
  `treasury owed ${formatEther(await market.owed(treasury.address, ethers.ZeroAddress))} ETH (protocol fee + module reward)`,
);
console.log(
  `user owed ${formatEther(await market.owed(user.address, ethers.ZeroAddress))} ETH (overpayment + unused verification fee)`,
);
console.log(`gate owed ${formatEther(await market.owed(await gate.getAddress(), ethers.ZeroAddress))} ETH`);
const liabilities = await market.liabilities(ethers.ZeroAddress);
const balance = await ethers.provider.getBalance(await market.getAddress());
console.log(
  `escrow: market holds ${formatEther(balance)} ETH against liabilities ${formatEther(liabilities)} ETH (solvent: ${balance >= liabilities})`,
);
