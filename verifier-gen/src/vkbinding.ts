/**
 * Whether a Groth16 verification key is the one a deployed verifier checks proofs with: the generated
 * verifier (verifier-gen/src/solidity.ts) holds every constant of its key (alpha, beta, gamma, delta and
 * the IC points, affine coordinates) as a literal, which the compiler emits as the operand of a PUSH of its
 * own byte length. Finding every one of them in the deployed code binds the key to the contract the chain
 * used; a key of another build shares none of them. The web app checks this before it trusts the key it
 * re-verifies a proof with.
 */

/** The parts of a snarkjs verification key (JSON) that carry its constants. */
export interface VerificationKeyConstants {
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  vk_gamma_2: string[][];
  vk_delta_2: string[][];
  IC: string[][];
}

/** Every constant of the key, as the verifier embeds it (x, y of each point; both limbs of G2 coordinates). */
export function keyConstants(vk: VerificationKeyConstants): bigint[] {
  return [
    ...vk.vk_alpha_1.slice(0, 2),
    ...vk.vk_beta_2.slice(0, 2).flat(),
    ...vk.vk_gamma_2.slice(0, 2).flat(),
    ...vk.vk_delta_2.slice(0, 2).flat(),
    ...vk.IC.flatMap((p) => p.slice(0, 2)),
  ].map((s) => BigInt(s));
}

/** How many of the key's constants appear in `code` (hex) as the operand of a PUSH of their own length. */
export function keyConstantsInCode(vk: VerificationKeyConstants, code: string): { found: number; total: number } {
  const hex = code.toLowerCase().replace(/^0x/, "");
  const constants = keyConstants(vk);
  let found = 0;
  for (const c of constants) {
    let h = c.toString(16);
    if (h.length % 2 === 1) h = `0${h}`;
    // PUSH1 is 0x60: PUSHn = 0x5f + n.
    const push = (0x5f + h.length / 2).toString(16);
    if (hex.includes(push + h)) found++;
  }
  return { found, total: constants.length };
}
