// Operator metrics: request counters in total and by model and mode, in Prometheus text; the server's port.
import { expect } from "chai";
import { ConfigError } from "../../operator/src/errors.js";
import { Metrics } from "../../operator/src/metrics.js";
import { rejectionOf } from "../helpers/errors.js";

describe("operator: metrics", () => {
  it("counts requests in total and by model and mode", () => {
    const m = new Metrics();
    m.inc("requests_seen", { modelId: 1n, mode: 0 });
    m.inc("requests_seen", { modelId: 1n, mode: 0 });
    m.inc("requests_seen", { modelId: 2n, mode: 1 });
    m.inc("requests_settled", { modelId: 2n, mode: 1 });
    m.inc("loop_failures");
    expect(m.get("requests_seen")).to.equal(3);
    expect(m.getFor(1n, 0, "seen")).to.equal(2);
    expect(m.getFor(2n, 1, "settled")).to.equal(1);
    const text = m.render();
    expect(text).to.include("veriml_requests_seen_total 3");
    expect(text).to.include('veriml_model_requests_total{model="1",mode="0",stage="seen"} 2');
    expect(text).to.include('veriml_model_requests_total{model="2",mode="1",stage="settled"} 1');
    expect(text).to.include("veriml_loop_failures_total 1");
  });
});

describe("operator: metrics server", () => {
  it("a port in use is a configuration error that names the port", async () => {
    const first = await new Metrics().serve(0);
    const address = first.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const error = await rejectionOf(new Metrics().serve(port));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.equal(
        `metrics port ${port} on 127.0.0.1 is in use by another process: choose another metricsPort`,
      );
    } finally {
      await new Promise((resolve) => first.close(resolve));
    }
  });
});
