/**
 * Delivering RandaoRandomness values: the source mixes the prevrandao (mixHash) of consecutive blocks after
 * each request, and anyone proves those values by passing the blocks' RLP headers, which the contract checks
 * against `blockhash`. This module rebuilds a header from `eth_getBlockByNumber` (post-merge fields, up to
 * the Prague `requestsHash`), checks it hashes to the block hash, and sends `fulfil` once the blocks exist.
 */
import { encodeRlp, keccak256, toBeHex, type ContractRunner, type ContractTransaction, type Provider } from "ethers";
import { RandaoRandomness__factory } from "../../../types/ethers-contracts/index.js";
import { OperatorError } from "../errors.js";

/** A block header could not be rebuilt from the node's JSON (unknown fork, or a node that lies). */
export class HeaderError extends OperatorError {}

type RawBlock = Record<string, string | undefined>;

const quantity = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : BigInt(v) === 0n ? "0x" : toBeHex(BigInt(v));

/** The RLP encoding of a block header, from the JSON-RPC block object. */
export function encodeHeader(raw: RawBlock): string {
  const fields = [
    raw.parentHash,
    raw.sha3Uncles,
    raw.miner,
    raw.stateRoot,
    raw.transactionsRoot,
    raw.receiptsRoot,
    raw.logsBloom,
    quantity(raw.difficulty),
    quantity(raw.number),
    quantity(raw.gasLimit),
    quantity(raw.gasUsed),
    quantity(raw.timestamp),
    raw.extraData,
    raw.mixHash,
    raw.nonce,
    quantity(raw.baseFeePerGas),
    raw.withdrawalsRoot,
    quantity(raw.blobGasUsed),
    quantity(raw.excessBlobGas),
    raw.parentBeaconBlockRoot,
    raw.requestsHash,
  ];
  // Fields of later forks are present only on chains that have them; they are always a suffix.
  const firstMissing = fields.findIndex((f, i) => i >= 15 && f === undefined);
  const present = firstMissing < 0 ? fields : fields.slice(0, firstMissing);
  if (present.slice(0, 15).some((f) => f === undefined))
    throw new HeaderError("block object lacks pre-merge header fields");
  return encodeRlp(present.filter((f): f is string => f !== undefined));
}

/** The RLP header of block `number`, checked against its hash. */
export async function blockHeader(provider: Provider, number: number): Promise<string> {
  const raw = (await (provider as unknown as { send(m: string, p: unknown[]): Promise<RawBlock | null> }).send(
    "eth_getBlockByNumber",
    [toBeHex(number), false],
  )) as RawBlock | null;
  if (raw === null) throw new HeaderError(`block ${number} not found`);
  const header = encodeHeader(raw);
  if (keccak256(header) !== raw.hash)
    throw new HeaderError(`block ${number}: rebuilt header does not hash to ${raw.hash}`);
  return header;
}

/**
 * Fulfils the randomness of (`requester`, `key`) at a RandaoRandomness source when its blocks exist and it is
 * not fulfilled yet; returns whether a transaction was sent.
 */
export async function fulfilRandomness(
  source: string,
  runner: ContractRunner & { provider: Provider | null },
  requester: string,
  key: string,
  send?: (build: () => Promise<ContractTransaction>) => Promise<unknown>,
): Promise<boolean> {
  const provider = runner.provider;
  if (provider === null) throw new HeaderError("the runner has no provider");
  const randao = RandaoRandomness__factory.connect(source, runner);
  if (await randao.isReady(requester, key)) return false;
  const target = Number(await randao.targetBlock(requester, key));
  if (target === 0) return false;
  const blocks = Number(await randao.blocks());
  const head = await provider.getBlockNumber();
  if (head < target + blocks || (await randao.isExpired(requester, key))) return false;
  const headers: string[] = [];
  for (let i = 0; i < blocks; i++) headers.push(await blockHeader(provider, target + i));
  if (send !== undefined) await send(() => randao.fulfil.populateTransaction(requester, key, headers));
  else await (await randao.fulfil(requester, key, headers)).wait();
  return true;
}
