import { HDNodeWallet, type Provider } from "ethers";

/** The mnemonic of Hardhat's default development accounts (in-process chain and `hardhat node`). */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Hardhat development account `index`, connected to `provider`. Never holds real value. */
export function devAccount(index: number, provider: Provider): HDNodeWallet {
  return HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).connect(provider);
}
