import { AbiCoder } from "ethers";

const abi = AbiCoder.defaultAbiCoder();

/** ABI of ISamplingModule.SamplingConfig (the model's per-mode config bytes). */
export const SAMPLING_CONFIG_TYPE =
  "tuple(uint16 sampleBps, uint16 verifierFeeBps, uint16 samplerNoShowSlashBps, uint8 maxDraws, " +
  "uint32 commitWindow, uint32 revealWindow, address arbitrator)";

/** Mirrors ISamplingModule.SamplingConfig. */
export interface SamplingConfig {
  sampleBps: number;
  verifierFeeBps: number;
  samplerNoShowSlashBps: number;
  maxDraws: number;
  commitWindow: number;
  revealWindow: number;
  arbitrator: string;
}

export function encodeSamplingConfig(config: SamplingConfig): string {
  return abi.encode([SAMPLING_CONFIG_TYPE], [config]);
}

export function decodeSamplingConfig(bytes: string): SamplingConfig {
  const [c] = abi.decode([SAMPLING_CONFIG_TYPE], bytes) as unknown as [Record<string, bigint | string>];
  return {
    sampleBps: Number(c.sampleBps),
    verifierFeeBps: Number(c.verifierFeeBps),
    samplerNoShowSlashBps: Number(c.samplerNoShowSlashBps),
    maxDraws: Number(c.maxDraws),
    commitWindow: Number(c.commitWindow),
    revealWindow: Number(c.revealWindow),
    arbitrator: String(c.arbitrator),
  };
}
