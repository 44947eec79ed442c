import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../src/client.js";
import { keepAliveSend } from "../src/transport.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((res) => server?.close(res) ?? res(undefined));
  server = undefined;
});

/** A server answering `{"task":...}` JSON; counts the connections it accepted. */
async function listen(onRequest: (n: number, destroy: () => void) => boolean = () => true) {
  const stats = { connections: 0, requests: 0 };
  server = createServer((req, res) => {
    stats.requests++;
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (!onRequest(stats.requests, () => req.socket.destroy())) return;
      res.writeHead(200, { "content-type": "application/json", etag: '"3"' }).end(JSON.stringify({ echo: body ? JSON.parse(body) : null }));
    });
  });
  server.on("connection", () => stats.connections++);
  await new Promise<void>((res) => server!.listen(0, "127.0.0.1", res));
  return { stats, base: `http://127.0.0.1:${(server!.address() as AddressInfo).port}` };
}

describe("the client's keep-alive transport", () => {
  it("sends consecutive requests over one connection, bodies and answers intact", async () => {
    const { stats, base } = await listen();
    const client = createClient({ baseUrl: base });
    for (let i = 0; i < 5; i++) expect(await client.pause(`run-${i}`)).toEqual({ echo: {} });
    const r = await keepAliveSend(new URL("/x", base), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ü: "€" }) });
    expect([r.ok, r.status, r.headers.get("ETag"), JSON.parse(await r.text())]).toEqual([true, 200, '"3"', { echo: { ü: "€" } }]);
    expect(stats).toEqual({ connections: 1, requests: 6 });
  });

  it("sends a request again on a fresh connection when the reused one was closed under it", async () => {
    // The second request's connection is cut before any answer, as a server closing an idle connection does.
    const { stats, base } = await listen((n, destroy) => (n === 2 ? (destroy(), false) : true));
    const client = createClient({ baseUrl: base });
    await client.pause("a");
    expect(await client.pause("b")).toEqual({ echo: {} });
    expect(stats).toEqual({ connections: 2, requests: 3 });
  });

  it("a connection that cannot be made is a TypeError, as with fetch, so submit retries it", async () => {
    const { base } = await listen();
    server!.close();
    await new Promise((res) => setTimeout(res, 10));
    const client = createClient({ baseUrl: base, submitRetries: 0 });
    await expect(client.getRun("r")).rejects.toBeInstanceOf(TypeError);
  });
});
