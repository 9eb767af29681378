// Requester and operator keys: separate settings, each a hex key or an encrypted JSON keystore whose
// password comes from a file; a wrong password, a bad key and a missing keystore each say what is wrong.
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { loadConfig } from "../../operator/src/config.js";
import { ConfigError } from "../../operator/src/errors.js";
import { keySourceFromEnv, resolvePrivateKey, writeKeystore } from "../../operator/src/keys.js";
import { rejectionOf } from "../helpers/errors.js";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("operator/keys", function () {
  this.timeout(120_000);
  let dir: string;
  let keystore: string;
  let passwordFile: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "veriml-keys-"));
    keystore = path.join(dir, "key.json");
    passwordFile = path.join(dir, "password");
    await writeFile(passwordFile, "a long enough password\n");
    expect(await writeKeystore(keystore, "a long enough password", KEY)).to.equal(new Wallet(KEY).address);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes a keystore only it can read, never over an existing file, and decrypts it with the password file", async () => {
    expect((await stat(keystore)).mode & 0o777).to.equal(0o600);
    const again = await rejectionOf(writeKeystore(keystore, "a long enough password", KEY));
    expect(again.message).to.include("must not exist yet");
    expect(await resolvePrivateKey({ keystore, passwordFile }, "operator")).to.equal(KEY);
    const short = await rejectionOf(writeKeystore(path.join(dir, "k2.json"), "short"));
    expect(short.message).to.include("at least 8 characters");
  });

  it("keeps the requester's and the operator's settings apart", async () => {
    const env = {
      VERIML_REQUESTER_KEY: KEY,
      VERIML_OPERATOR_KEYSTORE: keystore,
      VERIML_OPERATOR_PASSWORD_FILE: passwordFile,
    };
    expect(keySourceFromEnv("requester", env)).to.deep.equal({
      privateKey: KEY,
      keystore: undefined,
      passwordFile: undefined,
    });
    expect(keySourceFromEnv("operator", env)).to.deep.equal({ privateKey: undefined, keystore, passwordFile });
    expect(await resolvePrivateKey(keySourceFromEnv("operator", { VERIML_REQUESTER_KEY: KEY }), "operator")).to.equal(
      undefined,
    );
  });

  it("refuses a wrong password, a malformed key and a missing keystore with the role named", async () => {
    const wrong = path.join(dir, "wrong");
    await writeFile(wrong, "not the password");
    const badPassword = await rejectionOf(resolvePrivateKey({ keystore, passwordFile: wrong }, "operator"));
    expect(badPassword).to.be.instanceOf(ConfigError);
    expect(badPassword.message).to.match(/cannot decrypt the operator keystore .*key\.json/);
    const badKey = await rejectionOf(resolvePrivateKey({ privateKey: "0x1234" }, "requester"));
    expect(badKey.message).to.include("the requester key (VERIML_REQUESTER_KEY) is not");
    const missing = await rejectionOf(resolvePrivateKey({ keystore: path.join(dir, "nope.json") }, "operator"));
    expect(missing.message).to.include("cannot read the operator keystore");
  });

  it("an operator config signs from a keystore, and one without any key is refused", async () => {
    const file = path.join(dir, "operator.json");
    await writeFile(
      file,
      JSON.stringify({
        rpcUrl: "http://127.0.0.1:1",
        roles: ["worker"],
        models: [{ modelId: "1", modes: [0] }],
        storePath: path.join(dir, "s.sqlite"),
        keystore: { path: keystore, passwordFile },
        deployment: "chain-31337",
      }),
    );
    const config = await loadConfig(file, {}, {});
    expect(config.privateKey).to.equal(KEY);
    expect(config.market).to.equal(undefined);
    expect(config.deployment).to.equal("chain-31337");
    const bare = path.join(dir, "bare.json");
    await writeFile(
      bare,
      JSON.stringify({
        rpcUrl: "http://127.0.0.1:1",
        roles: ["worker"],
        models: [{ modelId: "1", modes: [0] }],
        storePath: "s",
      }),
    );
    const error = await rejectionOf(loadConfig(bare, {}, {}));
    expect(error.message).to.include("no operator key: set VERIML_OPERATOR_KEY, or a keystore");
  });
});
