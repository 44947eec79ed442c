/** The Weft API as the dashboard uses it: same origin by default, a key from session storage. */
export const API_URL: string = (import.meta.env.VITE_WEFT_API_URL as string | undefined)?.replace(/\/+$/, "") ?? "";
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
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `HTTP ${res.status}`, e?.field);
  }
  return json as T;
}

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
}
export interface RunView {
  dagId: string;
  status: RunStatus;
  createdAt: number;
  finishedAt?: number;
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
