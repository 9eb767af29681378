import { ConfigError } from "../errors.js";
import { Challenger } from "./challenger.js";
import type { Role, RoleContext } from "./role.js";
import { Worker } from "./worker.js";

type RoleName = RoleContext["config"]["roles"][number];

const FACTORIES: Partial<Record<RoleName, (ctx: RoleContext) => Role>> = {
  worker: (ctx) =>
    new Worker({
      market: ctx.market,
      operatorAddress: ctx.address,
      store: ctx.store,
      executors: ctx.executors,
      metrics: ctx.metrics,
      retry: ctx.retry,
      log: ctx.log,
    }),
  challenger: (ctx) => new Challenger(ctx),
};

/** Builds the configured roles; a role this build does not have is a config error, not a silent no-op. */
export function createRoles(ctx: RoleContext): Role[] {
  return ctx.config.roles.map((name) => {
    const factory = FACTORIES[name];
    if (factory === undefined) throw new ConfigError(`role "${name}" is not available in this build`);
    return factory(ctx);
  });
}
