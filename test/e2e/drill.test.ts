// The reliability drill, CI-sized: real `hardhat node` and operator processes, the fault proxy between
// them, a few requests per fault class. Every request settles exactly once, nothing is sent twice, the
// honest operator is never slashed and escrow equals liabilities. `npm run drill` runs every class at size.
import { expect } from "chai";
import { runDrill, scenarios } from "../../scripts/lib/drill.js";

const CI_FAULTS = ["malformed", "connection resets", "SIGKILL", "reorganisations", "stuck", "competing"];

describe("e2e: reliability drill (CI subset)", function () {
  this.timeout(900_000);
  for (const scenario of scenarios({ requests: 4 }).filter((s) => CI_FAULTS.some((f) => s.name.includes(f)))) {
    it(`${scenario.name}: every request settled once, no duplicate, no honest slash, escrow = liabilities`, async () => {
      const r = await runDrill(scenario, ".veriml/drill-ci", 180_000);
      expect(r.settledExactlyOnce, JSON.stringify(r)).to.equal(r.requests);
      expect(r.duplicates, "duplicates").to.equal(0);
      expect(r.honestSlashes, "honest slashes").to.equal(0);
      expect(r.escrowEqualsLiabilities, "escrow").to.equal(true);
      // The fault really happened while requests were served.
      if (scenario.name.includes("reorganisations")) expect(r.notes).to.match(/reorg of [1-9]/);
      else if (!scenario.name.includes("competing"))
        expect(r.notes + JSON.stringify(r.faultsInjected)).to.match(/[1-9]/);
    });
  }
});
