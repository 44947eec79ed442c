import type { Server } from "node:http";
import { routes } from "../../../infra/routes.js";
import { startGateway, type HttpHandler } from "../../local/gateway.js";
import { loadHandler } from "../../local/handlers.js";

/**
 * The local API Gateway of `npm start` (functions/local/gateway.ts) over the route table
 * infra deploys, on a free port: the HTTP tests drive it with real fetch as well as
 * invoking the Lambda handler directly, so a route the table lacks cannot pass unseen.
 */
export async function startTestGateway(): Promise<{ baseUrl: string; server: Server; close(): Promise<void> }> {
  const loaded = await Promise.all(
    routes.map(async (r) => ({ method: r.method, path: r.path, name: r.handler, handler: await loadHandler<HttpHandler>(r.handler) })),
  );
  const server = await startGateway(loaded, 0);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}
