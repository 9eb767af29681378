// Delivers RandaoRandomness values in tests, as the operator bots' randomness keeper does.
export { deliverPendingRandomness as fulfilAll } from "../../scripts/lib/randomness.js";
