// Ignition's deployment record as the CLI and the operator read it: the suite's addresses by future id;
// a missing record, a record without the suite, and a record of another (or restarted) chain are refused
// with what to do, never answered with calls to an empty address.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import {
  DeploymentError,
  deploymentDir,
  readSuiteDeployment,
  resolveMarket,
  SUITE_MODULE,
} from "../../operator/src/deployment.js";
import { rejectionOf } from "../helpers/errors.js";

const { ethers } = await network.connect();

const CONTRACTS = [
  "ModelRegistry",
  "StakingVault",
  "InferenceMarket",
  "RandaoRandomness",
  "ZkModule",
  "OneStepExecutor",
  "OptimisticModule",
  "SamplingModule",
  "SamplingCommittee",
  "OptimisticArbitrator",
  "QualityModule",
  "BenchmarkRegistry",
];

describe("operator/deployment", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), "veriml-deployment-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function record(id: string, addresses: Record<string, string>): Promise<string> {
    const dir = path.join(root, id);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "deployed_addresses.json"), JSON.stringify(addresses));
    return dir;
  }

  it("reads the suite's addresses, and resolves the market of the chain's own record", async () => {
    const market = await ethers.deployContract("MockERC20", ["t", "t"]);
    const addresses = Object.fromEntries(
      CONTRACTS.map((c, i) => [
        `${SUITE_MODULE}#${c}`,
        ethers.getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`),
      ]),
    );
    addresses[`${SUITE_MODULE}#InferenceMarket`] = await market.getAddress();
    const { chainId } = await ethers.provider.getNetwork();
    await record(`chain-${chainId}`, addresses);
    const suite = await readSuiteDeployment(path.join(root, `chain-${chainId}`));
    expect(suite.registry).to.equal(addresses[`${SUITE_MODULE}#ModelRegistry`]);
    expect(await resolveMarket({ deploymentsRoot: root }, ethers.provider)).to.equal(await market.getAddress());
    // An explicit address wins; an id is looked up under the root, a path is taken as it is.
    expect(await resolveMarket({ market: addresses[`${SUITE_MODULE}#ZkModule`] }, ethers.provider)).to.equal(
      addresses[`${SUITE_MODULE}#ZkModule`],
    );
    expect(deploymentDir("chain-1", "r")).to.equal(path.join("r", "chain-1"));
    expect(deploymentDir("some/dir", "r")).to.equal("some/dir");
  });

  it("refuses a missing record, a partial one, a malformed one and one of another chain", async () => {
    const none = await rejectionOf(readSuiteDeployment(path.join(root, "nope")));
    expect(none).to.be.instanceOf(DeploymentError);
    expect(none.message).to.include("deploy the suite first (npx hardhat ignition deploy ignition/modules/Suite.ts");
    const partial = await record("partial", { [`${SUITE_MODULE}#ModelRegistry`]: ethers.ZeroAddress });
    expect((await rejectionOf(readSuiteDeployment(partial))).message).to.match(/lacks StakingVault, InferenceMarket/);
    const malformed = await record("malformed", { [`${SUITE_MODULE}#ModelRegistry`]: "0x12" });
    expect((await rejectionOf(readSuiteDeployment(malformed))).message).to.include("is not an address (0x12)");
    // Every address present, none with code: the record of a node that was since restarted.
    const stale = await record(
      "stale",
      Object.fromEntries(CONTRACTS.map((c) => [`${SUITE_MODULE}#${c}`, ethers.getAddress(`0x${"ab".repeat(20)}`)])),
    );
    const error = await rejectionOf(resolveMarket({ deployment: stale }, ethers.provider));
    expect(error.message).to.match(/has no code on chain \d+: .*redeploy/);
    // A record whose journal says another chain, even if an address happens to hold code here.
    const market = await ethers.deployContract("MockERC20", ["t", "t"]);
    const other = await record(
      "other-chain",
      Object.fromEntries(CONTRACTS.map((c) => [`${SUITE_MODULE}#${c}`, ethers.getAddress(`0x${"cd".repeat(20)}`)])),
    );
    const recorded = JSON.parse(await readFile(path.join(other, "deployed_addresses.json"), "utf8")) as Record<
      string,
      string
    >;
    recorded[`${SUITE_MODULE}#InferenceMarket`] = await market.getAddress();
    await writeFile(path.join(other, "deployed_addresses.json"), JSON.stringify(recorded));
    await writeFile(
      path.join(other, "journal.jsonl"),
      `${JSON.stringify({ chainId: 11155111, type: "DEPLOYMENT_INITIALIZE" })}\n`,
    );
    const wrongChain = await rejectionOf(resolveMarket({ deployment: other }, ethers.provider));
    expect(wrongChain.message).to.match(/is of chain 11155111, the node is chain \d+/);
  });
});
