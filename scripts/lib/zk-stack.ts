import { ZeroAddress, ZeroHash, parseEther, type JsonRpcProvider } from "ethers";
import {
  DigitGate__factory,
  MockERC20__factory,
  type DigitGate,
  type MockERC20,
  type ZkModule,
} from "../../types/ethers-contracts/index.js";
import { devAccount } from "./accounts.js";
import { DEFAULT_PARAMETERS, deploySuite, type Suite } from "./deploy.js";
import { MODE_ZK, deployZkModule, registerZkModel } from "./zk.js";

export const ZK_PRICE = parseEther("0.01");
export const ZK_TOKEN_PRICE = parseEther("20");
export const ZK_OPERATOR_STAKE = parseEther("0.5");

/** A deployed zk marketplace on a development chain, as the demo, the bench and the e2e tests use it. */
export interface ZkStack extends Suite {
  zk: ZkModule;
  modelId: bigint;
  verifier: string;
  modelHash: string;
  token: MockERC20;
  gate: DigitGate;
  accounts: ReturnType<typeof devAccount>[];
}

/**
 * Deploys suite + ZkModule, registers the build in zk mode (priced in ETH and a demo ERC-20 that the
 * user account holds and has approved), and deploys a DigitGate consumer opening for `targetDigit`.
 * Accounts: 0 deployer, 1 treasury, 2 user, 3.. operators.
 */
export async function deployZkStack(
  provider: JsonRpcProvider,
  buildDir: string,
  targetDigit: number,
): Promise<ZkStack> {
  const accounts = [0, 1, 2, 3, 4, 5].map((i) => devAccount(i, provider));
  const [deployer, treasury, user] = accounts as [
    ReturnType<typeof devAccount>,
    ReturnType<typeof devAccount>,
    ReturnType<typeof devAccount>,
  ];
  const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
  const zk = await deployZkModule(suite, deployer);
  const { modelId, verifier, modelHash } = await registerZkModel(suite.registry, deployer, {
    buildDir,
    artifactURI: `file://${buildDir}`,
    ethPrice: ZK_PRICE,
    operatorStake: ZK_OPERATOR_STAKE,
  });
  const token = await new MockERC20__factory(deployer).deploy("Demo USD", "DUSD");
  await token.waitForDeployment();
  const tokenAddress = await token.getAddress();
  await (await suite.market.connect(deployer).setTokenAllowed(tokenAddress, true)).wait();
  await (await suite.registry.connect(deployer).setPrice(modelId, tokenAddress, ZK_TOKEN_PRICE)).wait();
  await (await token.connect(deployer).mint(user.address, parseEther("100000"))).wait();
  await (await token.connect(user).approve(await suite.market.getAddress(), parseEther("100000"))).wait();
  const gate = await new DigitGate__factory(deployer).deploy(
    await suite.market.getAddress(),
    modelId,
    MODE_ZK,
    targetDigit,
    await suite.market.termsHashOf(modelId, MODE_ZK),
  );
  await gate.waitForDeployment();
  return { ...suite, zk, modelId, verifier, modelHash, token, gate, accounts };
}

/** Who pays for a request in the demo, bench and e2e tests. */
export type Payer = "user-eth" | "user-token" | "gate";

/** Sends one paid zk request for `input` (64 pixel bytes) and returns its id. */
export async function sendZkRequest(
  stack: ZkStack,
  payer: Payer,
  input: Uint8Array,
  deadline: bigint,
): Promise<bigint> {
  const user = stack.accounts[2]!;
  const tx =
    payer === "gate"
      ? await stack.gate.connect(user).submitDigit(input, deadline, { value: ZK_PRICE })
      : await stack.market.connect(user).createRequest(
          {
            modelId: stack.modelId,
            mode: MODE_ZK,
            token: payer === "user-token" ? await stack.token.getAddress() : ZeroAddress,
            maxFee: payer === "user-token" ? ZK_TOKEN_PRICE : ZK_PRICE,
            deadline,
            input,
            inputHash: ZeroHash,
            inputURI: "",
            callback: ZeroAddress,
            callbackGasLimit: 0,
            termsHash: await stack.market.termsHashOf(stack.modelId, MODE_ZK),
          },
          { value: payer === "user-token" ? 0n : ZK_PRICE },
        );
  const receipt = await tx.wait();
  for (const log of receipt?.logs ?? []) {
    const parsed = stack.market.interface.parseLog(log);
    if (parsed?.name === "RequestCreated") return parsed.args.requestId as bigint;
  }
  throw new Error(`transaction ${tx.hash} created no request`);
}
