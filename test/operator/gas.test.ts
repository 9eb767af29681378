import { expect } from "chai";
import { network } from "hardhat";
import { parseUnits } from "ethers";
import { GasPolicyWallet } from "../../operator/src/chain/gas.js";

const { ethers } = await network.create();
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // dev account 1

describe("operator gas policy", () => {
  it("caps the max fee and sets the priority fee on every transaction", async () => {
    const wallet = new GasPolicyWallet(KEY, ethers.provider, { maxFeePerGasGwei: 0.5, maxPriorityFeePerGasGwei: 0.1 });
    const tx = await wallet.populateTransaction({ to: wallet.address, value: 1n });
    expect(BigInt(tx.maxFeePerGas!)).to.equal(parseUnits("0.5", "gwei"));
    expect(BigInt(tx.maxPriorityFeePerGas!)).to.equal(parseUnits("0.1", "gwei"));
  });

  it("keeps the provider's estimate under the ceiling and never lets the tip exceed the max fee", async () => {
    const free = new GasPolicyWallet(KEY, ethers.provider, {});
    const estimated = await free.populateTransaction({ to: free.address, value: 1n });
    const high = new GasPolicyWallet(KEY, ethers.provider, { maxFeePerGasGwei: 10_000 });
    expect((await high.populateTransaction({ to: high.address, value: 1n })).maxFeePerGas).to.equal(
      estimated.maxFeePerGas,
    );
    const tipHeavy = new GasPolicyWallet(KEY, ethers.provider, { maxFeePerGasGwei: 0.2, maxPriorityFeePerGasGwei: 5 });
    const capped = await tipHeavy.populateTransaction({ to: tipHeavy.address, value: 1n });
    expect(BigInt(capped.maxPriorityFeePerGas!)).to.equal(BigInt(capped.maxFeePerGas!));
  });

  it("sends transactions that the chain accepts under the policy", async () => {
    const wallet = new GasPolicyWallet(KEY, ethers.provider, { maxFeePerGasGwei: 100, maxPriorityFeePerGasGwei: 1 });
    const receipt = await (await wallet.sendTransaction({ to: wallet.address, value: 1n })).wait();
    expect(receipt!.status).to.equal(1);
  });
});

describe("operator nonce manager", () => {
  it("recovers the nonce after a send that fails before reaching the chain", async () => {
    const { ResettingNonceManager } = await import("../../operator/src/chain/nonce.js");
    const signer = new ResettingNonceManager(new GasPolicyWallet(KEY, ethers.provider, {}));
    // More than the account holds: fails in estimation, after the nonce was taken.
    const overdraft = { to: ethers.ZeroAddress, data: "0x", value: 10n ** 30n };
    let failed = false;
    try {
      await signer.sendTransaction(overdraft);
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
    const receipt = await (await signer.sendTransaction({ to: signer.signer.getAddress(), value: 1n })).wait();
    expect(receipt!.status).to.equal(1);
  });
});
