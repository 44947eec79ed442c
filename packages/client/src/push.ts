import { ConflictError, NotFoundError, type Task } from "@weft/core/sdk";
import { startAttempt, type Outcome } from "./attempt.js";
import type { Agents } from "./context.js";
import type { WeftClient } from "./client.js";
import { createClient } from "./client.js";
import { clientFrom, defaultWorkerId, DEFAULT_LEASE_MS } from "./worker.js";

/**
 * Push mode: a Lambda handler for EventBridge `NodeReady` events. It claims the event's
 * node (one claim wins per lease, so a duplicate or late delivery does not run the agent
 * again: its claim answers 409 and it returns `{ ran: false }`), runs the agent with
 * heartbeats, and completes or fails the node.
 */

export interface PushOptions {
  agents: Agents;
  client?: WeftClient;
  baseUrl?: string;
  /** The one key to act with; for a handler that serves a single tenant. */
  apiKey?: string;
  /**
   * For a handler that serves several tenants: each tenant's API key. An event is handled
   * with the key of the tenant it belongs to (`detail.tenant`); an event of a tenant not
   * listed here is refused, with a log line naming the tenant, and nothing is claimed.
   * Without `keys`, every event is handled with `apiKey`, whose tenant is the only one
   * whose runs it can claim (another tenant's run answers 404: `ran: false`).
   */
  keys?: Record<string, string>;
  /** Lease asked for at claim and at each heartbeat (every leaseMs / 3). Default 30 s. */
  leaseMs?: number;
  workerId?: string;
  log?: (line: string) => void;
}

export interface NodeReadyEvent {
  "detail-type": string;
  detail: { tenant?: string; dagId: string; nodeId?: string; agent?: string; [k: string]: unknown };
}

export interface PushResult {
  ran: boolean;
  /** Why the agent did not run, or did not complete. */
  reason?: string;
  /** When it ran: how the attempt ended. */
  outcome?: Outcome;
}

export function pushHandler(o: PushOptions): (event: NodeReadyEvent) => Promise<PushResult> {
  let client: WeftClient | undefined;
  const byTenant = new Map<string, WeftClient>();
  const clientFor = (tenant: string | undefined): WeftClient | undefined => {
    if (!o.keys) return (client ??= clientFrom(o));
    if (tenant === undefined || !Object.hasOwn(o.keys, tenant)) return undefined;
    let c = byTenant.get(tenant);
    if (!c) {
      const baseUrl = o.baseUrl ?? process.env.WEFT_API_URL;
      if (!baseUrl) throw new Error("weft push: pass baseUrl or set WEFT_API_URL");
      c = createClient({ baseUrl, apiKey: o.keys[tenant]! });
      byTenant.set(tenant, c);
    }
    return c;
  };
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  const workerId = o.workerId ?? defaultWorkerId();
  const log = o.log ?? ((line: string) => console.error(`weft push: ${line}`));

  return async (event) => {
    const { tenant, dagId, nodeId, agent } = event?.detail ?? {};
    if (event?.["detail-type"] !== "NodeReady" || !dagId || !nodeId || !agent) return { ran: false, reason: "not a NodeReady event" };
    const handler = Object.hasOwn(o.agents, agent) ? o.agents[agent] : undefined;
    if (!handler) return { ran: false, reason: `no handler for agent ${agent}` };
    // Made on first use, so env set after import (tests, the local emulator) is seen.
    const client = clientFor(tenant);
    if (!client) {
      log(`refused NodeReady of ${dagId}/${nodeId}: tenant ${JSON.stringify(tenant ?? null)} has no key in this handler's keys`);
      return { ran: false, reason: `no API key for tenant ${tenant ?? "(none)"}` };
    }

    let task: Task;
    try {
      task = await client.claimNode(dagId, nodeId, { leaseMs, workerId });
    } catch (err) {
      // Another delivery (or a pull worker) holds it, it finished, or the run is gone.
      if (err instanceof ConflictError || err instanceof NotFoundError) return { ran: false, reason: `not claimable: ${err.message}` };
      throw err;
    }
    const attempt = startAttempt(client, task, handler, { leaseMs, heartbeatMs: Math.max(1, Math.floor(leaseMs / 3)), workerId, log });
    const { outcome } = await attempt.settled;
    return outcome === "completed" ? { ran: true, outcome } : { ran: true, outcome, reason: `attempt ${task.attempt} ${outcome}` };
  };
}
