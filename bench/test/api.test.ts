import { describe, expect, it } from "vitest";
import { benchApi, bill, renderApi } from "../api.js";

describe("bench/api.ts: a chain through the local API", () => {
  it("counts the requests, invocations and events each mode pays per node, and prices them", async () => {
    const nodes = 12;
    const r = await benchApi({ smoke: true, nodes, log: () => {} });
    // pull: a submit, the first claim, then one completion (claiming the next node) per hop.
    expect(r.pull.apiRequests * nodes).toBe(nodes + 2);
    // push: a submit, then a claim and a completion per node.
    expect(r.push.apiRequests * nodes).toBe(2 * nodes + 1);
    // One push invocation per NodeReady, one archive invocation for the run.
    expect(r.push.lambdaInvocations * nodes).toBe(2 * nodes + 1 + nodes + 1);
    // NodeReady and NodeSucceeded per node, DagSucceeded once.
    for (const s of [r.pull, r.push]) {
      expect(s.events * nodes).toBe(2 * nodes + 1);
      expect(s.msPerHop).toBeGreaterThan(0);
      expect(s.redisCommands).toBeGreaterThan(s.scriptCalls);
    }
    // Deployed, each write is its call and its ack's (pull: complete + ack; push: claim, complete
    // + ack). The emulator's total is not compared with it: its responses return before the
    // relay, so a pull worker may poll an empty claim before DagSucceeded ends the window
    // (a CI run saw 27 calls against the deployed 26 for 12 nodes); the acks' coalescing is
    // functions/test/http/relay-after-response.test.ts's.
    expect(r.deployed.pull * nodes).toBeGreaterThanOrEqual(2 * nodes);
    expect(r.deployed.push * nodes).toBeGreaterThanOrEqual(3 * nodes);
    const b = bill(r.pull);
    expect(b.apiGateway).toBeCloseTo(r.pull.apiRequests, 6);
    expect(b.total).toBeGreaterThan(b.apiGateway + b.eventBridge);
    expect(renderApi(r)).toMatch(/^<!-- api:start -->[\s\S]*<!-- api:end -->$/);
  });
});
