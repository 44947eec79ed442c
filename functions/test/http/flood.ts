import { createInterface } from "node:readline";
import { handler as api } from "../../api.js";
import { apiEvent } from "./apigw.js";

/**
 * The flooding tenant of fairness.test.ts, in a process of its own as another Lambda
 * container would be (its own event loop, the same Redis, the runtime from its env). Each
 * line `<ms> <perSecond> <key>` on stdin floods submits of 500-node runs for that long at that
 * rate (open loop, at most 64 in flight) and answers one line `{ sent, limited }`.
 */
const nodes = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, agent: "flood-ag", input: { i } }));
// No id: every submit is a new run.
const rawBody = JSON.stringify({ nodes });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function flood(ms: number, perSecond: number, key: string) {
  let sent = 0;
  let limited = 0;
  const inflight = new Set<Promise<void>>();
  const end = performance.now() + ms;
  for (let next = performance.now(); next < end; next += 1000 / perSecond) {
    await sleep(Math.max(0, next - performance.now()));
    if (inflight.size >= 64) continue;
    const req = api(apiEvent("POST", "/v1/dags", { key, rawBody })).then((r) => {
      sent++;
      if ((r as { statusCode: number }).statusCode === 429) limited++;
    });
    inflight.add(req);
    void req.finally(() => inflight.delete(req));
  }
  await Promise.all(inflight);
  return { sent, limited };
}

const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
for await (const line of lines) {
  const [ms, perSecond, key] = line.trim().split(" ");
  process.stdout.write(`${JSON.stringify(await flood(Number(ms), Number(perSecond), key!))}\n`);
}
process.exit(0);
