// RandaoRandomness: values are the chain's own prevrandao of future blocks, proven with RLP headers checked
// against blockhash. Attacks: a header of another block, a header with a forged mixHash, too few or too many
// headers, delivering early, delivering twice, delivering after the blocks left the 256-block window.
import { expect } from "chai";
import { AbiCoder, decodeRlp, encodeRlp, keccak256, toBeHex, type BytesLike } from "ethers";
import { blockHeader } from "../../../operator/src/chain/randomness.js";
import { RandaoRandomness__factory } from "../../../types/ethers-contracts/index.js";
import { ethers, networkHelpers } from "../fixtures.js";

const abi = AbiCoder.defaultAbiCoder();
const DELAY = 2;
const BLOCKS = 3;
const KEY = ethers.id("request-1");

describe("RandaoRandomness", function () {
  async function deployFixture() {
    const [deployer, requester, other] = await ethers.getSigners();
    const source = await new RandaoRandomness__factory(deployer!).deploy(DELAY, BLOCKS);
    return { source, requester: requester!, other: other! };
  }

  async function requested() {
    const f = await networkHelpers.loadFixture(deployFixture);
    const tx = await f.source.connect(f.requester).request(KEY);
    const receipt = (await tx.wait())!;
    const target = receipt.blockNumber + DELAY;
    return { ...f, target };
  }

  const headersOf = async (from: number, count = BLOCKS) => {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await blockHeader(ethers.provider, from + i));
    return out;
  };
  const mixHashOf = async (n: number): Promise<string> =>
    ((await ethers.provider.send("eth_getBlockByNumber", [toBeHex(n), false])) as { mixHash: string }).mixHash;

  it("refuses a delay under 2 blocks: the proposer of the block including a request would know its value", async () => {
    const [deployer] = await ethers.getSigners();
    const factory = new RandaoRandomness__factory(deployer!);
    for (const delay of [0n, 1n]) {
      await expect(factory.deploy(delay, BLOCKS))
        .to.be.revertedWithCustomError(factory, "RandaoRandomnessDelayTooShort")
        .withArgs(delay, 2n);
    }
    const least = await factory.deploy(2n, BLOCKS);
    expect(await least.delay()).to.equal(await least.MIN_DELAY_BLOCKS());
  });

  it("records the target block and reports readiness only after delivery", async () => {
    const f = await requested();
    expect(await f.source.targetBlock(f.requester.address, KEY)).to.equal(BigInt(f.target));
    expect(await f.source.delay()).to.equal(BigInt(DELAY));
    expect(await f.source.blocks()).to.equal(BigInt(BLOCKS));
    expect(await f.source.isReady(f.requester.address, KEY)).to.equal(false);
    await expect(f.source.randomness(f.requester.address, KEY)).to.be.revertedWithCustomError(
      f.source,
      "RandomnessNotReady",
    );
    await expect(f.source.connect(f.requester).request(KEY))
      .to.be.revertedWithCustomError(f.source, "RandomnessAlreadyRequested")
      .withArgs(KEY);
  });

  it("mixes exactly the prevrandao of the target blocks, namespaced by requester and key", async () => {
    const f = await requested();
    await networkHelpers.mine(DELAY + BLOCKS + 1);
    const headers = await headersOf(f.target);
    await expect(f.source.connect(f.other).fulfil(f.requester.address, KEY, headers)).to.emit(
      f.source,
      "RandomnessFulfilled",
    );
    let acc = keccak256(abi.encode(["address", "bytes32"], [f.requester.address, KEY]));
    for (let i = 0; i < BLOCKS; i++)
      acc = keccak256(abi.encode(["bytes32", "bytes32"], [acc, await mixHashOf(f.target + i)]));
    expect(await f.source.randomness(f.requester.address, KEY)).to.equal(BigInt(acc));
    expect(await f.source.isReady(f.requester.address, KEY)).to.equal(true);
    await expect(f.source.fulfil(f.requester.address, KEY, headers))
      .to.be.revertedWithCustomError(f.source, "RandomnessAlreadyFulfilled")
      .withArgs(KEY);
    // The same key of another requester is its own request.
    await expect(f.source.randomness(f.other.address, KEY))
      .to.be.revertedWithCustomError(f.source, "RandomnessNotRequested")
      .withArgs(KEY);
  });

  it("refuses delivery before the last mixed block exists", async () => {
    const f = await requested();
    await networkHelpers.mine(DELAY + BLOCKS - 2);
    const head = await ethers.provider.getBlockNumber();
    // Only the blocks that exist; the call is mined in block head + 1 < target + BLOCKS.
    const available = await headersOf(f.target, head - f.target + 1);
    const padded = [...available, ...available].slice(0, BLOCKS);
    await expect(f.source.fulfil(f.requester.address, KEY, padded))
      .to.be.revertedWithCustomError(f.source, "RandomnessNotReady")
      .withArgs(KEY, BigInt(f.target + BLOCKS), BigInt(head + 1));
  });

  it("refuses a wrong number of headers", async () => {
    const f = await requested();
    await networkHelpers.mine(DELAY + BLOCKS + 1);
    const headers = await headersOf(f.target, BLOCKS + 1);
    await expect(f.source.fulfil(f.requester.address, KEY, headers.slice(0, BLOCKS - 1)))
      .to.be.revertedWithCustomError(f.source, "RandaoRandomnessHeaderCount")
      .withArgs(BLOCKS - 1, BLOCKS);
    await expect(f.source.fulfil(f.requester.address, KEY, headers))
      .to.be.revertedWithCustomError(f.source, "RandaoRandomnessHeaderCount")
      .withArgs(BLOCKS + 1, BLOCKS);
  });

  it("refuses the header of another block, in order or shifted", async () => {
    const f = await requested();
    await networkHelpers.mine(DELAY + BLOCKS + 2);
    const shifted = await headersOf(f.target + 1);
    await expect(f.source.fulfil(f.requester.address, KEY, shifted))
      .to.be.revertedWithCustomError(f.source, "RandaoRandomnessBadHeader")
      .withArgs(f.target);
    const right = await headersOf(f.target);
    const swapped = [right[0]!, right[2]!, right[1]!];
    await expect(f.source.fulfil(f.requester.address, KEY, swapped))
      .to.be.revertedWithCustomError(f.source, "RandaoRandomnessBadHeader")
      .withArgs(f.target + 1);
  });

  it("refuses a header whose mixHash (or any field) was changed", async () => {
    const f = await requested();
    await networkHelpers.mine(DELAY + BLOCKS + 1);
    const headers = await headersOf(f.target);
    const fields = decodeRlp(headers[1]!) as string[];
    fields[13] = ethers.id("chosen by the attacker");
    const forged = [headers[0]!, encodeRlp(fields), headers[2]!];
    await expect(f.source.fulfil(f.requester.address, KEY, forged))
      .to.be.revertedWithCustomError(f.source, "RandaoRandomnessBadHeader")
      .withArgs(f.target + 1);
    const notAHeader: BytesLike[] = [headers[0]!, "0x01", headers[2]!];
    await expect(f.source.fulfil(f.requester.address, KEY, notAHeader))
      .to.be.revertedWithCustomError(f.source, "RandaoRandomnessBadHeader")
      .withArgs(f.target + 1);
  });

  it("expires once the blocks leave the 256-block window, and says so", async () => {
    const f = await requested();
    await networkHelpers.mine(DELAY + BLOCKS + 1);
    const headers = await headersOf(f.target);
    await networkHelpers.mine(256);
    expect(await f.source.isExpired(f.requester.address, KEY)).to.equal(true);
    await expect(f.source.fulfil(f.requester.address, KEY, headers)).to.be.revertedWithCustomError(
      f.source,
      "RandomnessExpired",
    );
    expect(await f.source.isExpired(f.other.address, KEY), "never requested is not expired").to.equal(false);
  });

  it("refuses delivery of a key that was never requested", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    await expect(f.source.fulfil(f.requester.address, KEY, []))
      .to.be.revertedWithCustomError(f.source, "RandomnessNotRequested")
      .withArgs(KEY);
  });
});
