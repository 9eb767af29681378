import { NonceManager, type TransactionRequest, type TransactionResponse } from "ethers";

/**
 * ethers' NonceManager takes a nonce before the transaction is estimated and signed, so a send that
 * fails before reaching the node (a revert in gas estimation, an RPC error) leaves a gap, and every
 * later transaction of the process fails with "nonce too high". This one re-reads the pending nonce
 * from the node after any failed send.
 */
export class ResettingNonceManager extends NonceManager {
  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    try {
      return await super.sendTransaction(tx);
    } catch (error) {
      this.reset();
      throw error;
    }
  }
}
