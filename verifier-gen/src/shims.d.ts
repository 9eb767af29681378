// Minimal typings for untyped dependencies used by verifier-gen.
declare module "snarkjs" {
  export const groth16: {
    prove(
      zkey: string | object,
      wtns: string | object,
      logger?: unknown,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vkey: object, publicSignals: (string | bigint)[], proof: Groth16Proof, logger?: unknown): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: string, wtns: string | object): Promise<void>;
    exportJson(wtns: string | object): Promise<bigint[]>;
  };
  export const zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string, logger?: unknown): Promise<unknown>;
    contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: unknown): Promise<unknown>;
    beacon(
      oldZkey: string,
      newZkey: string,
      name: string,
      beaconHashHex: string,
      iterationsExp: number,
      logger?: unknown,
    ): Promise<unknown>;
    verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: unknown): Promise<boolean>;
    verifyFromInit(initZkey: string, ptau: string, zkey: string, logger?: unknown): Promise<boolean>;
    exportVerificationKey(zkey: string, logger?: unknown): Promise<VerificationKey>;
  };
  export const powersOfTau: {
    newAccumulator(curve: unknown, power: number, file: string, logger?: unknown): Promise<unknown>;
    contribute(oldPtau: string, newPtau: string, name: string, entropy: string, logger?: unknown): Promise<unknown>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: unknown): Promise<unknown>;
  };
  /** A group of an ffjavascript curve: points are Uint8Arrays in its internal (Montgomery, little-endian) form. */
  export interface CurveGroup {
    toRprUncompressed(out: Uint8Array, offset: number, point: Uint8Array): void;
  }
  export const curves: {
    getCurveFromName(name: string): Promise<{ terminate(): Promise<void>; G1: CurveGroup; G2: CurveGroup }>;
  };
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export interface VerificationKey {
    protocol: string;
    curve: string;
    nPublic: number;
    vk_alpha_1: string[];
    vk_beta_2: string[][];
    vk_gamma_2: string[][];
    vk_delta_2: string[][];
    IC: string[][];
  }
}

declare module "circom_runtime" {
  export interface WitnessCalculator {
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean): Promise<Uint8Array>;
  }
  export function WitnessCalculatorBuilder(wasm: Uint8Array, options?: object): Promise<WitnessCalculator>;
}
