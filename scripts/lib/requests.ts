import { ZeroAddress, ZeroHash, type BytesLike } from "ethers";
import type { IInferenceMarket } from "../../types/ethers-contracts/index.js";

/**
 * The most common request: input inline, paid in ETH (`maxFee` sent as value), no consumer callback, accepting
 * the mode config current when it is mined unless `termsHash` pins one.
 */
export function inlineEthRequest(
  modelId: bigint,
  mode: number,
  input: BytesLike,
  maxFee: bigint,
  deadline: bigint,
  termsHash: BytesLike = ZeroHash,
): IInferenceMarket.RequestParamsStruct {
  return {
    modelId,
    mode,
    token: ZeroAddress,
    maxFee,
    deadline,
    input,
    inputHash: ZeroHash,
    inputURI: "",
    callback: ZeroAddress,
    callbackGasLimit: 0,
    termsHash,
  };
}
