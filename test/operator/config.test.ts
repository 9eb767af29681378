import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { rejectionOf } from "../helpers/errors.js";
import { loadConfig } from "../../operator/src/config.js";
import { ConfigError } from "../../operator/src/errors.js";

const KEY = `0x${"11".repeat(32)}`;
const MARKET = `0x${"22".repeat(20)}`;
const base = {
  rpcUrl: "http://127.0.0.1:8545",
  market: MARKET,
  roles: ["worker"],
  models: [{ modelId: "1", artifacts: "models/build/digits-mlp", modes: [0] }],
  storePath: "/tmp/x.sqlite",
};

async function configFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "veriml-config-"));
  const file = path.join(dir, "operator.json");
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

describe("operator config", () => {
  it("merges file, environment and flags, later ones winning, and applies defaults", async () => {
    const file = await configFile({ ...base, logLevel: "debug" });
    const config = await loadConfig(
      file,
      { VERIML_OPERATOR_KEY: KEY, VERIML_LOG_LEVEL: "warn", VERIML_RPC_URL: "http://env:1" },
      { rpcUrl: "http://flag:2", metricsPort: undefined },
    );
    expect(config.privateKey).to.equal(KEY);
    expect(config.logLevel).to.equal("warn");
    expect(config.rpcUrl).to.equal("http://flag:2");
    expect(config.models[0]!.modelId).to.equal(1n);
    expect(config.pollIntervalMs).to.equal(1000);
    expect(config.retry).to.deep.equal({ attempts: 5, baseDelayMs: 250 });
    expect(config.metricsPort).to.equal(undefined);
  });

  it("zk settlement: one fulfill by default, claim first on request, nothing else", async () => {
    const plain = await loadConfig(await configFile(base), { VERIML_OPERATOR_KEY: KEY }, {});
    expect(plain.models[0]!.zkSettlement).to.equal("open");
    const claiming = await configFile({ ...base, models: [{ ...base.models[0], zkSettlement: "claim" }] });
    expect((await loadConfig(claiming, { VERIML_OPERATOR_KEY: KEY }, {})).models[0]!.zkSettlement).to.equal("claim");
    const bad = await configFile({ ...base, models: [{ ...base.models[0], zkSettlement: "finalize" }] });
    const error = await rejectionOf(loadConfig(bad, { VERIML_OPERATOR_KEY: KEY }, {}));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.match(/zkSettlement/);
  });

  it("rejects unknown keys, at the top and nested, naming them", async () => {
    const top = await configFile({ ...base, rpcURL: "typo" });
    {
      const error = await rejectionOf(loadConfig(top, { VERIML_OPERATOR_KEY: KEY }, {}));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.match(/unknown key "rpcURL"; did you mean "rpcUrl"\?/);
      expect(error.message).to.include(top);
    }
    const nested = await configFile({ ...base, models: [{ ...base.models[0], artefacts: "x" }] });
    {
      const error = await rejectionOf(loadConfig(nested, { VERIML_OPERATOR_KEY: KEY }, {}));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.match(/models\.0: unknown key "artefacts"; did you mean "artifacts"\?/);
    }
    const far = await configFile({ ...base, tx: { wholly: 1 } });
    {
      const error = await rejectionOf(loadConfig(far, { VERIML_OPERATOR_KEY: KEY }, {}));
      expect(error.message).to.match(/tx: unknown key "wholly"$/m);
    }
  });

  it("rejects bad values with the path of the problem", async () => {
    const file = await configFile({ ...base, market: "0x1234", roles: ["miner"] });
    const error = await rejectionOf(loadConfig(file, { VERIML_OPERATOR_KEY: "nope" }, {}));
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message)
      .to.match(/market/)
      .and.to.match(/privateKey/)
      .and.to.match(/roles\.0/);
    // One line per problem, no raw zod dump.
    expect(message.split("\n").length).to.be.greaterThan(3);
    expect(message).to.not.include('"code"');
  });

  it("reports unreadable and non-JSON files as config errors with a cause", async () => {
    const missing = await rejectionOf(loadConfig("/nonexistent/operator.json", {}, {}));
    expect(missing).to.be.instanceOf(ConfigError);
    expect((missing as Error).cause).to.be.instanceOf(Error);
    const garbage = await configFile("{ not json");
    {
      const error = await rejectionOf(loadConfig(garbage, {}, {}));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.match(/config file .*operator\.json is not valid JSON: /);
    }
  });
});
