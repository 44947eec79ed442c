import { randomBytes } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { NodeStatus, NodeView, RunEvent, RunStatus } from "@weft/core";
import type { RunArchive } from "@weft/core/dynamodb";

const zeroCounts = (): Record<NodeStatus, number> => ({
  pending: 0,
  ready: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  retrying: 0,
  skipped: 0,
  cancelled: 0,
  waiting: 0,
});

/**
 * A finished run shaped like the engine's: a chain-ish DAG whose nodes all ran once,
 * with incompressible outputs of `outputBytes` (so the archive really needs chunks).
 */
export function makeRun(opts: {
  tenant: string;
  dagId: string;
  nodes: number;
  outputBytes?: number;
  status?: RunStatus;
  createdAt?: number;
  archivedAt?: number;
}): RunArchive {
  const createdAt = opts.createdAt ?? 1_700_000_000_000;
  const status = opts.status ?? "succeeded";
  const nodeStatus: NodeStatus = status === "succeeded" ? "succeeded" : status === "failed" ? "failed" : "cancelled";
  const counts = zeroCounts();
  const nodes: NodeView[] = [];
  const events: RunEvent[] = [];
  const at = (n: number) => createdAt + n;
  events.push({ seq: 1, type: "run.submitted", actor: "api", at: createdAt, data: { nodes: opts.nodes, onFailure: "fail-fast" } });
  for (let i = 0; i < opts.nodes; i++) {
    const id = `n${i}`;
    const s: NodeStatus = i === opts.nodes - 1 ? nodeStatus : "succeeded";
    counts[s]++;
    nodes.push({
      id,
      agent: i % 2 ? "writer" : "researcher",
      deps: i === 0 ? [] : [`n${Math.floor((i - 1) / 2)}`],
      status: s,
      attempt: 1,
      input: { prompt: `task ${i}` },
      ...(s === "succeeded" ? { output: { text: randomBytes(Math.ceil(((opts.outputBytes ?? 64) * 3) / 4)).toString("base64") } } : {}),
      ...(s === "failed" ? { error: { message: "model refused" } } : {}),
    });
    const base = events.length;
    events.push({ seq: base + 1, type: "node.ready", node: id, attempt: 0, actor: "engine", at: at(i), from: "pending" });
    events.push({ seq: base + 2, type: "node.started", node: id, attempt: 1, actor: "w1", at: at(i) + 1, from: "ready", data: { workerId: "w1", leaseExpiresAt: at(i) + 30_000 } });
    events.push({ seq: base + 3, type: `node.${s}` as RunEvent["type"], node: id, attempt: 1, actor: "w1", at: at(i) + 2, from: "running" });
  }
  const finishedAt = createdAt + opts.nodes + 10;
  events.push({ seq: events.length + 1, type: `run.${status}` as RunEvent["type"], actor: "engine", at: finishedAt, data: { counts } });
  return {
    tenant: opts.tenant,
    snapshot: { dagId: opts.dagId, tenant: opts.tenant, status, onFailure: "fail-fast", createdAt, finishedAt, counts, nodes },
    events,
    spec: { id: opts.dagId, nodes: nodes.map((n) => ({ id: n.id, agent: n.agent, input: n.input, deps: n.deps })) },
    archivedAt: opts.archivedAt ?? Date.now(),
  };
}

export interface StoredItem {
  sk: string;
  bytes: number;
  expiresAt: number;
  data?: Uint8Array;
}

/** Every item of one run's partition, read straight from the table (not through the store). */
export async function partition(client: DynamoDBClient, table: string, tenant: string, dagId: string): Promise<StoredItem[]> {
  const doc = DynamoDBDocumentClient.from(client);
  const out: StoredItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const res = await doc.send(
      new QueryCommand({ TableName: table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": `RUN#${tenant}#${dagId}` }, ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    for (const item of res.Items ?? []) {
      const data = item.data as Uint8Array | undefined;
      const bytes = Object.entries(item).reduce((n, [k, v]) => n + k.length + (v instanceof Uint8Array ? v.length : JSON.stringify(v).length), 0);
      out.push({ sk: item.sk as string, bytes, expiresAt: item.expiresAt as number, ...(data ? { data } : {}) });
    }
    startKey = res.LastEvaluatedKey;
  } while (startKey);
  return out;
}
