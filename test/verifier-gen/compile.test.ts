// Each build records its verifier's exact bytecode (verifier.json), compiled by the pinned solc from the
// build's own Solidity: deterministic, so anyone can recompute the code hash a model's zk config pins, and
// operators accept no other verifier.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { keccak256 } from "ethers";
import { compileVerifier } from "../../verifier-gen/src/compile.js";
import { loadVerifierArtifact } from "../../verifier-gen/src/pipeline.js";

describe("verifier-gen: compiled verifier artifacts", function () {
  this.timeout(120_000);
  for (const [build, contract] of [
    ["models/build/digits-mlp", "DigitsMlpVerifier"],
    ["models/build/digits-cnn", "DigitsCnnVerifier"],
  ] as const) {
    it(`${contract}: verifier.json is what the pinned solc makes of the build's Solidity`, () => {
      const artifact = loadVerifierArtifact(build);
      const source = `${contract}.sol`;
      const again = compileVerifier(
        {
          [source]: readFileSync(`${build}/${source}`, "utf8"),
          "VerimlPacking.sol": readFileSync(`${build}/VerimlPacking.sol`, "utf8"),
        },
        source,
        contract,
      );
      expect(again.codeHash).to.equal(artifact.codeHash);
      expect(keccak256(artifact.deployedBytecode)).to.equal(artifact.codeHash);
      expect(artifact.compiler.version).to.match(/^0\.8\.28/);
    });
  }

  it("reports solc errors instead of writing an artifact", () => {
    expect(() => compileVerifier({ "X.sol": "contract X { function f( }" }, "X.sol", "X")).to.throw(/solc/);
  });
});
