import { expect } from "chai";
import { network } from "hardhat";

const { ethers, networkHelpers } = await network.create();

describe("smoke", () => {
  async function deploy() {
    const [owner] = await ethers.getSigners();
    const registry = await ethers.deployContract("ModelRegistry", [owner.address]);
    return { registry };
  }
  it("deploys", async () => {
    const { registry } = await networkHelpers.loadFixture(deploy);
    expect(await registry.modelCount()).to.equal(0n);
  });
});
