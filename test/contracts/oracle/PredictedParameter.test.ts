// PredictedParameter: a regression-driven consumer. The parameter is the verified quantized prediction
// dequantized with the model's output scale (the diabetes_relu build's, read from its manifest), applied
// only inside the bounds and only forward in request order.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { encodeOutput } from "../../../verifier-gen/src/encoding.js";
import type { PredictedParameter } from "../../../types/ethers-contracts/index.js";
import {
  DAY,
  ETH_REQUIRED,
  MODEL_HASH,
  MODE_ZK,
  deployMarketFixture,
  ethers,
  networkHelpers,
  time,
} from "../fixtures.js";

const manifest = JSON.parse(readFileSync("models/build/diabetes_relu/manifest.json", "utf8")) as {
  input: { shape: number[]; encoding: { bytes: number } };
  output: { scale: number[] };
};
const INPUT_LENGTH = manifest.input.shape.reduce((a, b) => a * b, 1) * manifest.input.encoding.bytes;
// The output scale as a fraction: numerator / 1e18.
const SCALE_DEN = 10n ** 18n;
const SCALE_NUM = BigInt(Math.round(manifest.output.scale[0]! * 1e18));
const E18 = 10n ** 18n;
const MIN = 25n * E18;
const MAX = 350n * E18;

async function fixture() {
  const f = await deployMarketFixture();
  const consumer: PredictedParameter = await ethers.deployContract("PredictedParameter", [
    await f.market.getAddress(),
    f.modelId,
    MODE_ZK,
    await f.market.termsHashOf(f.modelId, MODE_ZK),
    MODEL_HASH,
    INPUT_LENGTH,
    SCALE_NUM,
    SCALE_DEN,
    MIN,
    MAX,
  ]);
  await f.module.setAutoAccept(true);
  return { ...f, consumer };
}

describe("PredictedParameter (regression consumer)", () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  const input = () => ethers.hexlify(Uint8Array.from({ length: INPUT_LENGTH }, (_, i) => (i * 37) % 256));

  beforeEach(async () => {
    f = await networkHelpers.loadFixture(fixture);
  });

  /** Pays for an update and has the operator answer `q`; returns the request id (not yet finalized). */
  async function answered(q: bigint): Promise<bigint> {
    const deadline = BigInt(await time.latest()) + DAY;
    await f.consumer.connect(f.requester).requestUpdate(input(), deadline, { value: ETH_REQUIRED });
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    await f.market.connect(f.operator).submitResult(id, encodeOutput([q]), "0x");
    return id;
  }

  it("binds the scale to the registered model: a wrong modelHash, scale or bounds is refused", async () => {
    const factory = await ethers.getContractFactory("PredictedParameter");
    const args = async (over: Partial<Record<"hash" | "num" | "min", unknown>>) => [
      await f.market.getAddress(),
      f.modelId,
      MODE_ZK,
      ethers.ZeroHash,
      over.hash ?? MODEL_HASH,
      INPUT_LENGTH,
      over.num ?? SCALE_NUM,
      SCALE_DEN,
      over.min ?? MIN,
      MAX,
    ];
    const other = ethers.id("another model");
    await expect(ethers.deployContract("PredictedParameter", await args({ hash: other })))
      .to.be.revertedWithCustomError(factory, "PredictedParameterModelMismatch")
      .withArgs(f.modelId, other, MODEL_HASH);
    await expect(ethers.deployContract("PredictedParameter", await args({ num: 0n })))
      .to.be.revertedWithCustomError(factory, "PredictedParameterBadScale")
      .withArgs(0n, SCALE_DEN);
    await expect(ethers.deployContract("PredictedParameter", await args({ min: MAX + 1n })))
      .to.be.revertedWithCustomError(factory, "PredictedParameterBadBounds")
      .withArgs(MAX + 1n, MAX);
  });

  it("refuses an input that is not the model's encoded length, before paying", async () => {
    const deadline = BigInt(await time.latest()) + DAY;
    await expect(f.consumer.requestUpdate("0x0102", deadline, { value: ETH_REQUIRED }))
      .to.be.revertedWithCustomError(f.consumer, "PredictedParameterBadInput")
      .withArgs(2n, BigInt(INPUT_LENGTH));
  });

  it("sets the parameter to the dequantized verified prediction (18 decimals)", async () => {
    const q = 96n;
    const id = await answered(q);
    const expected = (q * SCALE_NUM * E18) / SCALE_DEN;
    await expect(f.market.finalize(id)).to.emit(f.consumer, "ParameterSet").withArgs(id, expected);
    const [value, requestId] = await f.consumer.parameter();
    expect(value).to.equal(expected);
    expect(requestId).to.equal(id);
    // The same number a client gets from the manifest: q * scale.
    expect(Math.abs(Number(value) / 1e18 - Number(q) * manifest.output.scale[0]!)).to.be.lessThan(1e-6);
  });

  it("does not apply a prediction outside the bounds, nor an older one after a newer", async () => {
    const high = await answered(127n * 100n); // far above MAX once dequantized
    await expect(f.market.finalize(high)).to.emit(f.consumer, "PredictionOutOfBounds");
    expect((await f.consumer.parameter())[1]).to.equal(0n);

    const older = await answered(90n);
    const newer = await answered(100n);
    await f.market.finalize(newer);
    await expect(f.market.finalize(older)).to.emit(f.consumer, "PredictionStale").withArgs(older, newer);
    expect((await f.consumer.parameter())[1]).to.equal(newer);
  });

  it("a result with more than one value fails the callback; settlement still completes", async () => {
    const deadline = BigInt(await time.latest()) + DAY;
    await f.consumer.requestUpdate(input(), deadline, { value: ETH_REQUIRED });
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    await f.market.connect(f.operator).submitResult(id, encodeOutput([1n, 2n]), "0x");
    await expect(f.market.finalize(id))
      .to.emit(f.market, "CallbackExecuted")
      .withArgs(id, await f.consumer.getAddress(), false);
    expect((await f.consumer.parameter())[1]).to.equal(0n);
  });
});
