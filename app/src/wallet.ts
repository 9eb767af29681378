/**
 * Wallets: any EIP-1193 provider the browser injects (window.ethereum), or, on a local development chain,
 * the node's own unlocked accounts (the app server proxies the node's JSON-RPC, which signs for them), so
 * the page works with nothing installed. Either way the page gets an ethers Signer and the chain id the
 * wallet is on, which must be the deployment's before anything is signed.
 */
import { BrowserProvider, JsonRpcProvider, isError, type Eip1193Provider, type Signer } from "ethers";

declare global {
  interface Window {
    ethereum?: Eip1193Provider & { on?: (event: string, handler: (...args: unknown[]) => void) => void };
  }
}

export interface Wallet {
  kind: "injected" | "development";
  address: string;
  signer: Signer;
  /** The chain the wallet signs for (for the development accounts: the node's). */
  chainId: bigint;
}

export const hasInjectedWallet = (): boolean => typeof window !== "undefined" && window.ethereum !== undefined;

/** Asks the injected wallet for an account (the wallet shows its own prompt). */
export async function connectInjected(): Promise<Wallet> {
  if (window.ethereum === undefined) throw new WalletError("no browser wallet (EIP-1193) is installed");
  const provider = new BrowserProvider(window.ethereum);
  const accounts = (await provider.send("eth_requestAccounts", [])) as string[];
  if (accounts.length === 0) throw new WalletError("the wallet gave no account");
  const signer = await provider.getSigner(accounts[0]);
  const { chainId } = await provider.getNetwork();
  return { kind: "injected", address: await signer.getAddress(), signer, chainId };
}

/** The node's unlocked accounts (a local chain only). */
export async function developmentAccounts(provider: JsonRpcProvider): Promise<string[]> {
  return (await provider.send("eth_accounts", [])) as string[];
}

export async function connectDevelopment(provider: JsonRpcProvider, address: string): Promise<Wallet> {
  const signer = await provider.getSigner(address);
  const { chainId } = await provider.getNetwork();
  return { kind: "development", address: await signer.getAddress(), signer, chainId };
}

/** The chain the wallet is on now (it may have switched since it connected): asked of the wallet itself. */
export async function walletChainId(wallet: Wallet): Promise<bigint> {
  if (wallet.kind === "injected" && window.ethereum !== undefined) {
    return BigInt((await window.ethereum.request({ method: "eth_chainId" })) as string);
  }
  return (await wallet.signer.provider!.getNetwork()).chainId;
}

/** Asks the injected wallet to switch to `chainId` (EIP-3326). */
export async function switchChain(chainId: bigint): Promise<void> {
  await window.ethereum?.request({
    method: "wallet_switchEthereumChain",
    params: [{ chainId: `0x${chainId.toString(16)}` }],
  });
}

export class WalletError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WalletError";
  }
}

/** Whether the user declined in the wallet (EIP-1193 code 4001; ethers' ACTION_REJECTED). */
export function isRejection(error: unknown): boolean {
  if (isError(error, "ACTION_REJECTED")) return true;
  const e = error as { code?: unknown; error?: { code?: unknown }; info?: { error?: { code?: unknown } } };
  return e?.code === 4001 || e?.error?.code === 4001 || e?.info?.error?.code === 4001;
}
