import { expect } from "chai";
import {
  ARTIFACT_URI,
  deployMarketFixture,
  ETH,
  ETH_PRICE,
  ethers,
  MODE_OPTIMISTIC,
  MODE_ZK,
  MODEL_HASH,
  networkHelpers,
  OPERATOR_STAKE,
  type MarketFixture,
} from "./fixtures.js";

const abi = ethers.AbiCoder.defaultAbiCoder();
const BAD_CONFIG = abi.encode(["uint256"], [0xdead]);
const GOOD_CONFIG = abi.encode(["uint256"], [42]);
const UNKNOWN_ID = 999n;

/** Market fixture with the mock module also behind mode 1 (not enabled for the fixture model). */
async function twoModesFixture() {
  const f = await deployMarketFixture();
  await f.registry.connect(f.owner).setModeModule(MODE_OPTIMISTIC, await f.module.getAddress());
  return f;
}

describe("ModelRegistry", () => {
  let f: MarketFixture;

  describe("registerModel", () => {
    beforeEach(async () => {
      f = await networkHelpers.loadFixture(twoModesFixture);
    });

    it("registers a model owned by the caller with its ETH price and modes", async () => {
      const hash = ethers.id("model-2");
      const tx = f.registry.connect(f.outsider).registerModel(hash, "ipfs://m2", 123n, 5n, [
        { mode: MODE_ZK, config: "0x" },
        { mode: MODE_OPTIMISTIC, config: GOOD_CONFIG },
      ]);
      await expect(tx)
        .to.emit(f.registry, "ModelRegistered")
        .withArgs(2n, f.outsider.address, hash, "ipfs://m2", 5n)
        .and.to.emit(f.registry, "ModelPriceSet")
        .withArgs(2n, ETH, 123n)
        .and.to.emit(f.registry, "ModelModeConfigured")
        .withArgs(2n, MODE_OPTIMISTIC, GOOD_CONFIG);
      await expect(tx).to.emit(f.registry, "ModelModeConfigured").withArgs(2n, MODE_ZK, "0x");

      expect(await f.registry.modelCount()).to.equal(2n);
      const model = await f.registry.getModel(2n);
      expect(model.owner).to.equal(f.outsider.address);
      expect(model.active).to.equal(true);
      expect(model.modes).to.equal(0b11n);
      expect(model.modelHash).to.equal(hash);
      expect(model.operatorStake).to.equal(5n);
      expect(model.artifactURI).to.equal("ipfs://m2");
      expect(await f.registry.priceOf(2n, ETH)).to.equal(123n);
      expect(await f.registry.modeConfig(2n, MODE_OPTIMISTIC)).to.equal(GOOD_CONFIG);
      expect(await f.registry.isModeEnabled(2n, MODE_ZK)).to.equal(true);
      expect(await f.registry.isModeEnabled(2n, 2)).to.equal(false);
    });

    it("returns sequential ids starting at 1", async () => {
      const id = await f.registry
        .connect(f.outsider)
        .registerModel.staticCall(ethers.id("x"), "", 1n, 0n, [{ mode: MODE_ZK, config: "0x" }]);
      expect(id).to.equal(2n);
      const model = await f.registry.getModel(f.modelId);
      expect(f.modelId).to.equal(1n);
      expect(model.owner).to.equal(f.modelOwner.address);
      expect(model.modelHash).to.equal(MODEL_HASH);
      expect(model.artifactURI).to.equal(ARTIFACT_URI);
      expect(model.operatorStake).to.equal(OPERATOR_STAKE);
    });

    it("reverts on a zero model hash", async () => {
      await expect(
        f.registry.registerModel(ethers.ZeroHash, "", 1n, 0n, [{ mode: MODE_ZK, config: "0x" }]),
      ).to.be.revertedWithCustomError(f.registry, "ModelRegistryZeroModelHash");
    });

    it("reverts without modes", async () => {
      await expect(f.registry.registerModel(MODEL_HASH, "", 1n, 0n, [])).to.be.revertedWithCustomError(
        f.registry,
        "ModelRegistryNoModes",
      );
    });

    it("reverts on a zero ETH price", async () => {
      await expect(
        f.registry.registerModel(MODEL_HASH, "", 0n, 0n, [{ mode: MODE_ZK, config: "0x" }]),
      ).to.be.revertedWithCustomError(f.registry, "ModelRegistryZeroPrice");
    });

    it("reverts on a duplicate mode", async () => {
      await expect(
        f.registry.registerModel(MODEL_HASH, "", 1n, 0n, [
          { mode: MODE_ZK, config: "0x" },
          { mode: MODE_OPTIMISTIC, config: "0x" },
          { mode: MODE_ZK, config: "0x" },
        ]),
      )
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryDuplicateMode")
        .withArgs(MODE_ZK);
    });

    it("reverts on a mode without a module and on a mode id out of range", async () => {
      await expect(f.registry.registerModel(MODEL_HASH, "", 1n, 0n, [{ mode: 2, config: "0x" }]))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownMode")
        .withArgs(2);
      await expect(f.registry.registerModel(MODEL_HASH, "", 1n, 0n, [{ mode: 8, config: "0x" }]))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownMode")
        .withArgs(8);
    });

    it("reverts when the module rejects the mode config", async () => {
      await expect(f.registry.registerModel(MODEL_HASH, "", 1n, 0n, [{ mode: MODE_ZK, config: BAD_CONFIG }]))
        .to.be.revertedWithCustomError(f.module, "MockVerificationModuleBadConfig")
        .withArgs(BAD_CONFIG);
    });
  });

  describe("model owner functions", () => {
    beforeEach(async () => {
      f = await networkHelpers.loadFixture(twoModesFixture);
    });

    it("setPrice sets and clears a token price", async () => {
      const token = await f.token.getAddress();
      await expect(f.registry.connect(f.modelOwner).setPrice(f.modelId, token, 77n))
        .to.emit(f.registry, "ModelPriceSet")
        .withArgs(f.modelId, token, 77n);
      expect(await f.registry.priceOf(f.modelId, token)).to.equal(77n);
      await f.registry.connect(f.modelOwner).setPrice(f.modelId, token, 0n);
      expect(await f.registry.priceOf(f.modelId, token)).to.equal(0n);
    });

    it("configureMode enables a new mode and replaces the settings of an enabled one", async () => {
      await expect(f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_OPTIMISTIC, GOOD_CONFIG))
        .to.emit(f.registry, "ModelModeConfigured")
        .withArgs(f.modelId, MODE_OPTIMISTIC, GOOD_CONFIG);
      expect(await f.registry.isModeEnabled(f.modelId, MODE_OPTIMISTIC)).to.equal(true);
      expect((await f.registry.getModel(f.modelId)).modes).to.equal(0b11n);

      const replaced = abi.encode(["uint256"], [43]);
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_OPTIMISTIC, replaced);
      expect(await f.registry.modeConfig(f.modelId, MODE_OPTIMISTIC)).to.equal(replaced);
    });

    it("configureMode reverts for an unknown mode or a rejected config", async () => {
      await expect(f.registry.connect(f.modelOwner).configureMode(f.modelId, 3, "0x"))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownMode")
        .withArgs(3);
      await expect(f.registry.connect(f.modelOwner).configureMode(f.modelId, 200, "0x"))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownMode")
        .withArgs(200);
      await expect(f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, BAD_CONFIG))
        .to.be.revertedWithCustomError(f.module, "MockVerificationModuleBadConfig")
        .withArgs(BAD_CONFIG);
    });

    it("disableMode disables an enabled mode and clears its settings", async () => {
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_OPTIMISTIC, GOOD_CONFIG);
      await expect(f.registry.connect(f.modelOwner).disableMode(f.modelId, MODE_OPTIMISTIC))
        .to.emit(f.registry, "ModelModeDisabled")
        .withArgs(f.modelId, MODE_OPTIMISTIC);
      expect(await f.registry.isModeEnabled(f.modelId, MODE_OPTIMISTIC)).to.equal(false);
      expect((await f.registry.getModel(f.modelId)).modes).to.equal(0b01n);
      await expect(f.registry.modeConfig(f.modelId, MODE_OPTIMISTIC))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, MODE_OPTIMISTIC);
      // Re-enabling starts from the new config, not the old one.
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_OPTIMISTIC, "0x");
      expect(await f.registry.modeConfig(f.modelId, MODE_OPTIMISTIC)).to.equal("0x");
    });

    it("disableMode reverts for a mode that is not enabled or out of range", async () => {
      await expect(f.registry.connect(f.modelOwner).disableMode(f.modelId, MODE_OPTIMISTIC))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, MODE_OPTIMISTIC);
      await expect(f.registry.connect(f.modelOwner).disableMode(f.modelId, 9))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, 9);
    });

    it("setActive toggles the model", async () => {
      await expect(f.registry.connect(f.modelOwner).setActive(f.modelId, false))
        .to.emit(f.registry, "ModelStatusChanged")
        .withArgs(f.modelId, false);
      expect((await f.registry.getModel(f.modelId)).active).to.equal(false);
      await expect(f.registry.connect(f.modelOwner).setActive(f.modelId, true))
        .to.emit(f.registry, "ModelStatusChanged")
        .withArgs(f.modelId, true);
      expect((await f.registry.getModel(f.modelId)).active).to.equal(true);
    });

    it("setOperatorStake changes the stake locked per request", async () => {
      await expect(f.registry.connect(f.modelOwner).setOperatorStake(f.modelId, 9n))
        .to.emit(f.registry, "ModelOperatorStakeSet")
        .withArgs(f.modelId, 9n);
      expect((await f.registry.getModel(f.modelId)).operatorStake).to.equal(9n);
      const [, stake] = await f.registry.requireServable(f.modelId, MODE_ZK);
      expect(stake).to.equal(9n);
    });

    it("setArtifactURI moves the artifacts but keeps the model hash", async () => {
      await expect(f.registry.connect(f.modelOwner).setArtifactURI(f.modelId, "https://new"))
        .to.emit(f.registry, "ModelArtifactURISet")
        .withArgs(f.modelId, "https://new");
      const model = await f.registry.getModel(f.modelId);
      expect(model.artifactURI).to.equal("https://new");
      expect(model.modelHash).to.equal(MODEL_HASH);
    });

    it("transferModelOwnership hands the model over", async () => {
      await expect(f.registry.connect(f.modelOwner).transferModelOwnership(f.modelId, f.outsider.address))
        .to.emit(f.registry, "ModelOwnerChanged")
        .withArgs(f.modelId, f.modelOwner.address, f.outsider.address);
      expect((await f.registry.getModel(f.modelId)).owner).to.equal(f.outsider.address);
      // The previous owner lost control; the new owner has it.
      await expect(f.registry.connect(f.modelOwner).setActive(f.modelId, false))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryNotModelOwner")
        .withArgs(f.modelId, f.modelOwner.address);
      await f.registry.connect(f.outsider).setActive(f.modelId, false);
      expect((await f.registry.getModel(f.modelId)).active).to.equal(false);
    });

    it("transferModelOwnership reverts on the zero address", async () => {
      await expect(
        f.registry.connect(f.modelOwner).transferModelOwnership(f.modelId, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(f.registry, "ModelRegistryZeroAddress");
    });

    it("every model owner function reverts for other callers, including governance", async () => {
      const r = f.registry;
      const calls = [
        (s: typeof f.owner) => r.connect(s).setPrice(f.modelId, ETH, 1n),
        (s: typeof f.owner) => r.connect(s).configureMode(f.modelId, MODE_ZK, "0x"),
        (s: typeof f.owner) => r.connect(s).disableMode(f.modelId, MODE_ZK),
        (s: typeof f.owner) => r.connect(s).setActive(f.modelId, false),
        (s: typeof f.owner) => r.connect(s).setOperatorStake(f.modelId, 1n),
        (s: typeof f.owner) => r.connect(s).setArtifactURI(f.modelId, "x"),
        (s: typeof f.owner) => r.connect(s).transferModelOwnership(f.modelId, s.address),
      ];
      for (const call of calls) {
        for (const signer of [f.outsider, f.owner]) {
          await expect(call(signer))
            .to.be.revertedWithCustomError(r, "ModelRegistryNotModelOwner")
            .withArgs(f.modelId, signer.address);
        }
      }
    });

    it("model owner functions revert for an unknown model", async () => {
      await expect(f.registry.connect(f.modelOwner).setPrice(UNKNOWN_ID, ETH, 1n))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel")
        .withArgs(UNKNOWN_ID);
      await expect(f.registry.connect(f.modelOwner).setActive(0n, true))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel")
        .withArgs(0n);
    });
  });

  describe("governance", () => {
    beforeEach(async () => {
      f = await networkHelpers.loadFixture(twoModesFixture);
    });

    it("setModeModule points a mode at a module and can retire it", async () => {
      const moduleAddress = await f.module.getAddress();
      await expect(f.registry.connect(f.owner).setModeModule(5, moduleAddress))
        .to.emit(f.registry, "ModeModuleSet")
        .withArgs(5, moduleAddress);
      expect(await f.registry.moduleOf(5)).to.equal(moduleAddress);
      await expect(f.registry.connect(f.owner).setModeModule(5, ethers.ZeroAddress))
        .to.emit(f.registry, "ModeModuleSet")
        .withArgs(5, ethers.ZeroAddress);
      expect(await f.registry.moduleOf(5)).to.equal(ethers.ZeroAddress);
    });

    it("setModeModule reverts for a mode id out of range", async () => {
      await expect(f.registry.connect(f.owner).setModeModule(8, await f.module.getAddress()))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownMode")
        .withArgs(8);
    });

    it("setModeModule is owner-only", async () => {
      await expect(f.registry.connect(f.modelOwner).setModeModule(5, await f.module.getAddress()))
        .to.be.revertedWithCustomError(f.registry, "OwnableUnauthorizedAccount")
        .withArgs(f.modelOwner.address);
    });

    it("ownership moves in two steps", async () => {
      await expect(f.registry.connect(f.owner).transferOwnership(f.outsider.address))
        .to.emit(f.registry, "OwnershipTransferStarted")
        .withArgs(f.owner.address, f.outsider.address);
      expect(await f.registry.owner()).to.equal(f.owner.address);
      expect(await f.registry.pendingOwner()).to.equal(f.outsider.address);
      await expect(f.registry.connect(f.modelOwner).acceptOwnership())
        .to.be.revertedWithCustomError(f.registry, "OwnableUnauthorizedAccount")
        .withArgs(f.modelOwner.address);
      await expect(f.registry.connect(f.outsider).acceptOwnership())
        .to.emit(f.registry, "OwnershipTransferred")
        .withArgs(f.owner.address, f.outsider.address);
      expect(await f.registry.owner()).to.equal(f.outsider.address);
      await expect(f.registry.connect(f.owner).setModeModule(5, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.registry, "OwnableUnauthorizedAccount")
        .withArgs(f.owner.address);
    });

    it("renounceOwnership leaves the mode table frozen", async () => {
      await expect(f.registry.connect(f.owner).renounceOwnership())
        .to.emit(f.registry, "OwnershipTransferred")
        .withArgs(f.owner.address, ethers.ZeroAddress);
      expect(await f.registry.owner()).to.equal(ethers.ZeroAddress);
      await expect(f.registry.connect(f.owner).setModeModule(5, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.registry, "OwnableUnauthorizedAccount")
        .withArgs(f.owner.address);
      // Model owners keep managing their models.
      await f.registry.connect(f.modelOwner).setActive(f.modelId, false);
      expect((await f.registry.getModel(f.modelId)).active).to.equal(false);
    });
  });

  describe("views", () => {
    beforeEach(async () => {
      f = await networkHelpers.loadFixture(twoModesFixture);
    });

    it("getModel and modeConfig revert for an unknown model", async () => {
      await expect(f.registry.getModel(UNKNOWN_ID))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel")
        .withArgs(UNKNOWN_ID);
      await expect(f.registry.modeConfig(UNKNOWN_ID, MODE_ZK))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel")
        .withArgs(UNKNOWN_ID);
    });

    it("isModeEnabled, priceOf and moduleOf are total functions", async () => {
      expect(await f.registry.isModeEnabled(UNKNOWN_ID, MODE_ZK)).to.equal(false);
      expect(await f.registry.isModeEnabled(f.modelId, 255)).to.equal(false);
      expect(await f.registry.priceOf(UNKNOWN_ID, ETH)).to.equal(0n);
      expect(await f.registry.priceOf(f.modelId, ETH)).to.equal(ETH_PRICE);
      expect(await f.registry.moduleOf(255)).to.equal(ethers.ZeroAddress);
      expect(await f.registry.moduleOf(MODE_ZK)).to.equal(await f.module.getAddress());
    });

    it("modeConfig reverts for a mode the model does not enable", async () => {
      await expect(f.registry.modeConfig(f.modelId, MODE_OPTIMISTIC))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, MODE_OPTIMISTIC);
      await expect(f.registry.modeConfig(f.modelId, 200))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, 200);
    });

    it("requireServable returns the module and stake of a servable model", async () => {
      const [module, stake] = await f.registry.requireServable(f.modelId, MODE_ZK);
      expect(module).to.equal(await f.module.getAddress());
      expect(stake).to.equal(OPERATOR_STAKE);
    });

    it("requireServable reverts for unknown, inactive, mode-disabled and module-less models", async () => {
      await expect(f.registry.requireServable(UNKNOWN_ID, MODE_ZK))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel")
        .withArgs(UNKNOWN_ID);
      await expect(f.registry.requireServable(f.modelId, MODE_OPTIMISTIC))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, MODE_OPTIMISTIC);

      await f.registry.connect(f.modelOwner).setActive(f.modelId, false);
      await expect(f.registry.requireServable(f.modelId, MODE_ZK))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModelInactive")
        .withArgs(f.modelId);
      await f.registry.connect(f.modelOwner).setActive(f.modelId, true);

      await f.registry.connect(f.owner).setModeModule(MODE_ZK, ethers.ZeroAddress);
      await expect(f.registry.requireServable(f.modelId, MODE_ZK))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownMode")
        .withArgs(MODE_ZK);
    });
  });
});
