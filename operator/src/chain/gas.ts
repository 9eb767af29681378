import { Wallet, parseUnits, type Provider, type TransactionLike, type TransactionRequest } from "ethers";
import type { OperatorConfig } from "../config.js";

/**
 * A wallet that applies the operator's gas policy to every transaction it signs: a ceiling on the
 * EIP-1559 max fee (a spike on a public chain must not burn the operator's earnings) and a fixed
 * priority fee, both optional; unset fields keep the provider's estimates.
 */
export class GasPolicyWallet extends Wallet {
  private readonly maxFeePerGas: bigint | undefined;
  private readonly maxPriorityFeePerGas: bigint | undefined;

  constructor(privateKey: string, provider: Provider, policy: OperatorConfig["gas"]) {
    super(privateKey, provider);
    this.maxFeePerGas =
      policy.maxFeePerGasGwei === undefined ? undefined : parseUnits(String(policy.maxFeePerGasGwei), "gwei");
    this.maxPriorityFeePerGas =
      policy.maxPriorityFeePerGasGwei === undefined
        ? undefined
        : parseUnits(String(policy.maxPriorityFeePerGasGwei), "gwei");
  }

  override async populateTransaction(tx: TransactionRequest): Promise<TransactionLike<string>> {
    const populated = await super.populateTransaction(tx);
    if (populated.maxFeePerGas == null) return populated; // legacy-fee chain: leave as estimated
    if (this.maxFeePerGas !== undefined && BigInt(populated.maxFeePerGas) > this.maxFeePerGas) {
      populated.maxFeePerGas = this.maxFeePerGas;
    }
    if (this.maxPriorityFeePerGas !== undefined) populated.maxPriorityFeePerGas = this.maxPriorityFeePerGas;
    const maxFee = BigInt(populated.maxFeePerGas);
    if (populated.maxPriorityFeePerGas != null && BigInt(populated.maxPriorityFeePerGas) > maxFee) {
      populated.maxPriorityFeePerGas = maxFee;
    }
    return populated;
  }
}
