/** The Weft API as the dashboard uses it: same origin by default, a key from session storage. */
export const API_URL: string = (import.meta.env.VITE_WEFT_API_URL as string | undefined)?.replace(/\/+$/, "") ?? "";
/** Where the tenant's stream is served: deployed, the Stream API (infra/stack/dashboard.ts); locally, the API's origin. */
export const STREAM_URL: string = (import.meta.env.VITE_WEFT_STREAM_URL as string | undefined)?.replace(/\/+$/, "") || API_URL;
const KEY = "weft.apiKey";

export const apiKey = {
  get: () => sessionStorage.getItem(KEY) ?? undefined,
  set: (k: string) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An error reply of the API, kept as it was sent: code, message and the field it names. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await request<T>(method, path, body)).data;
}

/** The reply and its headers (a state value's version is its ETag). */
export async function request<T>(method: string, path: string, body?: unknown): Promise<{ data: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  const key = apiKey.get();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${API_URL}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (err) {
    throw new ApiError(0, "network", `cannot reach the API: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? (text.slice(0, 200) || `HTTP ${res.status}`), e?.field);
  }
  return { data: json as T, headers: res.headers };
}

/** An API error as the page shows it: what was tried, the status, the API's code and message (and field). */
export const describeError = (what: string, err: unknown): string =>
  err instanceof ApiError ? `${what}: ${err.status} ${err.code}: ${err.message}${err.field ? ` (field ${err.field})` : ""}` : `${what}: ${String(err)}`;

export type NodeStatus = "pending" | "ready" | "running" | "succeeded" | "failed" | "retrying" | "skipped" | "cancelled" | "waiting";
export type RunStatus = "running" | "succeeded" | "failed" | "cancelled" | "paused";

export interface NodeView {
  id: string;
  agent: string;
  deps: string[];
  status: NodeStatus;
  attempt: number;
  input?: unknown;
  output?: unknown;
  error?: { message: string };
  leaseExpiresAt?: number;
  workerId?: string;
  /** Set on a node added while the run ran (M9). */
  addedBy?: { node: string; attempt: number } | { actor: string };
  /** A wait node's (or a suspended agent's) wait (M10). */
  wait?: { gen: number; timeoutAt?: number; key?: string; suspended?: boolean; input?: unknown; onTimeout: "fail" | "succeed" };
  /** The signal that ended its last wait. */
  signal?: { via: string; at: number; by?: string };
}
export interface RunView {
  dagId: string;
  status: RunStatus;
  createdAt: number;
  finishedAt?: number;
  pausedAt?: number;
  counts: Record<string, number>;
  nodes: NodeView[];
}
export interface RunSummary {
  dagId: string;
  status: RunStatus;
  createdAt: number;
  finishedAt?: number;
  counts: Record<string, number>;
}
export interface RunEvent {
  seq: number;
  type: string;
  node?: string;
  attempt?: number;
  actor: string;
  at: number;
  from?: NodeStatus;
  data?: Record<string, unknown>;
}
export interface RunAt {
  seq: number;
  at: number;
  status: RunStatus;
  nodes: { id: string; status: NodeStatus; attempt: number }[];
}

export const runPath = (dagId: string) => `/v1/dags/${encodeURIComponent(dagId)}`;

/** POST /signal's reply; POST /pause and /resume reply `{ status, changed }`. */
export interface SignalResult {
  status: NodeStatus;
  runStatus: RunStatus;
  duplicate: boolean;
}

/** Shared state as the state routes return it (functions/http/routes/state.ts). */
export interface StateKeyInfo {
  key: string;
  version: number;
  at: number;
}
export interface StateHistoryEntry {
  version: number;
  op: string;
  at: number;
  writer?: { agent?: string; run?: string; node?: string; attempt?: number };
}
