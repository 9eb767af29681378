import { ConfigError } from "../errors.js";
import { ArbitrationDuty } from "./arbitration-duty.js";
import type { Role, RoleContext } from "./role.js";
import { Sampler } from "./sampler.js";
import { SamplingOperatorDuty } from "./sampling-operator.js";
import { CompositeRole } from "./validator.js";
import { QualityScoreDuty } from "./validator-quality.js";
import { SamplingVoteDuty } from "./validator-sampling.js";
import { Worker } from "./worker.js";
import { Challenger } from "./challenger.js";
import { RandomnessKeeper } from "./randomness-keeper.js";
import { DEFAULT_TX_POLICY, TxSender } from "../chain/tx-sender.js";

type RoleName = RoleContext["config"]["roles"][number];

const FACTORIES: Partial<Record<RoleName, (ctx: RoleContext) => Role>> = {
  challenger: (ctx) => new Challenger(ctx),
  worker: (ctx) =>
    new CompositeRole("worker", [
      new Worker({
        market: ctx.market,
        vault: ctx.vault,
        operatorAddress: ctx.address,
        store: ctx.store,
        executors: ctx.executors,
        metrics: ctx.metrics,
        retry: ctx.retry,
        log: ctx.log,
        tx: ctx.tx,
        policy: ctx.config.policy,
        limits: {
          provers: ctx.config.provers,
          maxBacklog: ctx.config.maxBacklog,
          confirmations: ctx.config.reorgDepth,
        },
      }),
      new SamplingOperatorDuty(ctx),
      // Party A of spML disputes settled by an OptimisticArbitrator.
      new ArbitrationDuty(ctx, 0),
    ]),
  // spML operator B, and party B of its OptimisticArbitrator disputes.
  sampler: (ctx) => new CompositeRole("sampler", [new Sampler(ctx), new ArbitrationDuty(ctx, 1)]),
  // Duties of the validator role: spML votes (+ PoQ scoring, issue 7).
  validator: (ctx) => new CompositeRole("validator", [new SamplingVoteDuty(ctx), new QualityScoreDuty(ctx)]),
};

/** Roles whose duties wait for randomness (sampling decisions and draws, committee draws). */
const NEEDS_RANDOMNESS: readonly RoleName[] = ["worker", "sampler", "validator"];

/**
 * Builds the configured roles; a role this build does not have is a config error, not a silent no-op. A
 * process with any role that waits for randomness also runs one randomness keeper, which delivers it.
 */
export function createRoles(context: Omit<RoleContext, "tx"> & { tx?: TxSender }): Role[] {
  const ctx: RoleContext = {
    ...context,
    tx: context.tx ?? new TxSender(context.signer, context.store, DEFAULT_TX_POLICY, context.log.child({ ns: "tx" })),
  };
  const roles = ctx.config.roles.map((name) => {
    const factory = FACTORIES[name];
    if (factory === undefined) throw new ConfigError(`role "${name}" is not available in this build`);
    return factory(ctx);
  });
  if (ctx.config.roles.some((r) => NEEDS_RANDOMNESS.includes(r))) roles.push(new RandomnessKeeper(ctx));
  return roles;
}
