// Ignition's record read from its text (operator/src/deployment-record.ts), as the web app reads it over
// HTTP: addresses checksummed, a record without the suite refused by name, the chain id from the journal.
import { expect } from "chai";
import {
  DeploymentError,
  SUITE_CONTRACTS,
  SUITE_MODULE,
  journalChainId,
  parseDeployedAddresses,
  suiteAddresses,
} from "../../operator/src/deployment-record.js";

const ADDRESS = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

describe("operator: Ignition deployment record from its text", () => {
  it("checksums every address and names what is malformed", () => {
    expect(parseDeployedAddresses(JSON.stringify({ "M#X": ADDRESS }), "f")).to.deep.equal({
      "M#X": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    });
    expect(() => parseDeployedAddresses("{", "f.json")).to.throw(DeploymentError, /f\.json is not valid JSON/);
    expect(() => parseDeployedAddresses('{"M#X": "0x12"}', "f.json")).to.throw(
      DeploymentError,
      /M#X is not an address/,
    );
    expect(() => parseDeployedAddresses("3", "f.json")).to.throw(DeploymentError, /not an object of addresses/);
  });

  it("finds the suite's contracts by future id and refuses a record that lacks one", () => {
    const all = Object.fromEntries(Object.values(SUITE_CONTRACTS).map((c) => [`${SUITE_MODULE}#${c}`, ADDRESS]));
    expect(suiteAddresses(all, "d").market).to.equal(ADDRESS);
    const { [`${SUITE_MODULE}#QualityModule`]: _quality, ...partial } = all;
    expect(() => suiteAddresses(partial, "somewhere")).to.throw(DeploymentError, /somewhere lacks QualityModule/);
  });

  it("reads the chain id from the journal, and nothing from a journal that does not say", () => {
    const journal = [
      JSON.stringify({ type: "DEPLOYMENT_INITIALIZE", chainId: 31337 }),
      JSON.stringify({ type: "TRANSACTION_CONFIRM", futureId: "x", hash: "0x1" }),
    ].join("\n");
    expect(journalChainId(journal)).to.equal(31337n);
    expect(journalChainId("")).to.equal(undefined);
  });
});
