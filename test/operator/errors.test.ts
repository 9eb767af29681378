// Chain errors are classified from their structure (ethers code, JSON-RPC code, decoded revert), never from
// a regex over the message: a revert whose calldata spells "502" is not a gateway error.
import { expect } from "chai";
import { Interface, makeError } from "ethers";
import { classify, decodeRevert } from "../../operator/src/chain/errors.js";
import { InferenceMarket__factory } from "../../types/ethers-contracts/index.js";

describe("operator: chain error classification", () => {
  const market = new Interface(InferenceMarket__factory.abi as never);
  const revertData = market.encodeErrorResult("InferenceMarketWrongStatus", [7n, 3]);

  it("decodes custom errors of every veriml contract with their arguments", () => {
    expect(decodeRevert(revertData)).to.deep.equal({ name: "InferenceMarketWrongStatus", args: [7n, 3n] });
    const c = classify(makeError("execution reverted", "CALL_EXCEPTION", { data: revertData } as never));
    expect(c).to.deep.include({ kind: "revert", summary: "InferenceMarketWrongStatus(7, 3)" });
  });

  it("a revert stays a revert even when wrapped as UNKNOWN_ERROR or its message contains 429/502/503", () => {
    const wrapped = makeError("could not coalesce error (502 503 429 in calldata 0x5020)", "UNKNOWN_ERROR", {
      error: { code: -32603, message: "reverted", data: revertData },
    } as never);
    expect(classify(wrapped).kind).to.equal("revert");
    const plain = new Error("gas required exceeds allowance; calldata 0x...502...503...429");
    expect(classify(plain).kind).to.equal("permanent");
  });

  it("transient: timeouts, resets, malformed replies, node load, nonce races", () => {
    for (const code of [
      "TIMEOUT",
      "NETWORK_ERROR",
      "SERVER_ERROR",
      "BAD_DATA",
      "NONCE_EXPIRED",
      "REPLACEMENT_UNDERPRICED",
    ]) {
      expect(classify(makeError("x", code as never)).kind, code).to.equal("transient");
    }
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    expect(classify(reset).kind).to.equal("transient");
    expect(classify(new SyntaxError("Unexpected token < in JSON")).kind).to.equal("transient");
    const notJson = makeError("response body is not valid JSON", "UNSUPPORTED_OPERATION", { operation: "bodyJson" });
    expect(classify(notJson).kind, "a reply that is not JSON").to.equal("transient");
    const limited = makeError("rate limited", "UNKNOWN_ERROR", { error: { code: -32005, message: "limit" } } as never);
    expect(classify(limited).kind).to.equal("transient");
  });
});
