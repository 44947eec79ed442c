import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { Id } from "@weft/core";
import {
  MachineDefinitionSchema,
  RawJson,
  type StateRef,
  type StateStore,
  type Writer,
} from "@weft/core";
import { errorResponses, RequestValidationError } from "../errors.js";
import { requestErrorFromZod } from "../validation.js";
import { subApp, type WeftApp } from "./deps.js";

// Core's schemas may be created before @hono/zod-openapi extends zod; clones made here carry `.openapi()`.
const PathId = Id.clone();

/**
 * Shared agent state over HTTP. A value is the request/response body itself (raw JSON,
 * stored byte for byte); its version travels as the ETag `"<n>"`. Every write is
 * conditional: PUT needs If-Match (compare-and-set) or If-None-Match: * (create), DELETE
 * needs If-Match, PATCH (RFC 7396 merge patch) takes an optional If-Match. Who wrote is
 * read from X-Weft-Agent / X-Weft-Run / X-Weft-Node / X-Weft-Attempt.
 *
 * Routes are declared for the OpenAPI document and served by plain handlers, because the
 * bodies are arbitrary JSON that must not pass through a parse-and-reserialize validator.
 */
export interface StateRouteDeps {
  state: StateStore;
}

const tenantOf = (c: Context) => c.get("tenant") as string;

const SCOPES = [
  { base: "/v1/dags/:dagId/state/:key", doc: "/v1/dags/{dagId}/state/{key}", param: "dagId", tag: "Run state" },
  { base: "/v1/state/:namespace/:key", doc: "/v1/state/{namespace}/{key}", param: "namespace", tag: "Namespace state" },
] as const;

const TransitionBody = z
  .object({
    machine: Id,
    to: Id,
    expectedVersion: z.number().int().min(0).optional().openapi({ description: "Compare-and-set on this version; 0: the key must not exist" }),
  })
  .strict()
  .openapi("TransitionRequest");

const MachineBody = MachineDefinitionSchema.clone().openapi("MachineDefinition");

export function stateRoutes({ state }: StateRouteDeps): WeftApp {
  const app = subApp();

  for (const scope of SCOPES) {
    const refOf = (c: Context): StateRef => {
      const key = pathId(c, "key");
      const tenant = tenantOf(c);
      return scope.param === "dagId" ? { tenant, dagId: pathId(c, "dagId"), key } : { tenant, namespace: pathId(c, "namespace"), key };
    };
    document(app, scope.doc, scope.tag);

    app.get(scope.base, async (c) => {
      const entry = await state.get(refOf(c));
      const etag = `"${entry.version}"`;
      if (c.req.header("if-none-match") === etag) return c.body(null, 304, { ETag: etag });
      return c.body(entry.json, 200, { "Content-Type": "application/json", ETag: etag });
    });

    app.put(scope.base, async (c) => {
      const ref = refOf(c);
      const value = new RawJson(await jsonText(c));
      const writer = writerOf(c);
      const ifMatch = c.req.header("if-match");
      const ifNoneMatch = c.req.header("if-none-match");
      if (ifMatch !== undefined && ifNoneMatch !== undefined) {
        throw new RequestValidationError("give If-Match or If-None-Match, not both", "If-Match");
      }
      if (ifNoneMatch !== undefined) {
        if (ifNoneMatch.trim() !== "*") throw new RequestValidationError("If-None-Match on PUT must be *", "If-None-Match");
        const w = await state.create(ref, value, { writer });
        return c.json({ version: w.version }, 201, { ETag: `"${w.version}"` });
      }
      if (ifMatch === undefined) {
        throw new RequestValidationError('PUT needs If-Match: "<version>" (update) or If-None-Match: * (create)', "If-Match");
      }
      const w = await state.put(ref, value, { expectedVersion: versionOf(ifMatch), writer });
      return c.json({ version: w.version }, 200, { ETag: `"${w.version}"` });
    });

    app.patch(scope.base, async (c) => {
      const ref = refOf(c);
      const patch = new RawJson(await jsonText(c));
      const ifMatch = c.req.header("if-match");
      const w = await state.patch(ref, patch, {
        writer: writerOf(c),
        ...(ifMatch === undefined ? {} : { expectedVersion: versionOf(ifMatch) }),
      });
      return c.json({ version: w.version, value: w.value }, 200, { ETag: `"${w.version}"` });
    });

    app.delete(scope.base, async (c) => {
      const ref = refOf(c);
      const ifMatch = c.req.header("if-match");
      if (ifMatch === undefined) throw new RequestValidationError('DELETE needs If-Match: "<version>"', "If-Match");
      const w = await state.delete(ref, { expectedVersion: versionOf(ifMatch), writer: writerOf(c) });
      return c.json({ version: w.version, deleted: true }, 200);
    });

    app.get(`${scope.base}/history`, async (c) => {
      const raw = c.req.query("limit");
      if (raw !== undefined && !/^\d{1,4}$/.test(raw)) throw new RequestValidationError("query.limit must be a whole number", "query.limit");
      const entries = await state.history(refOf(c), raw === undefined ? {} : { limit: Number(raw) });
      return c.json({ entries }, 200);
    });

    app.post(`${scope.base}/transition`, async (c) => {
      const ref = refOf(c);
      const body = TransitionBody.safeParse(JSON.parse(await jsonText(c)), { reportInput: true });
      if (!body.success) throw requestErrorFromZod(body.error, "json");
      const r = await state.transition(ref, { ...body.data, writer: writerOf(c) });
      return c.json(r, 200, { ETag: `"${r.version}"` });
    });
  }

  app.openapi(putMachine, async (c) => {
    const m = await state.putMachine(tenantOf(c), c.req.valid("param").name, c.req.valid("json"));
    return c.json(m, 200);
  });
  app.openapi(getMachine, async (c) => c.json(await state.getMachine(tenantOf(c), c.req.valid("param").name), 200));
  return app;
}

function pathId(c: Context, name: string): string {
  const value = c.req.param(name);
  if (value === undefined || !Id.safeParse(value).success) {
    throw new RequestValidationError(`path.${name} must be 1-128 letters, digits, '_', '.' or '-'`, `path.${name}`);
  }
  return value;
}

/** The body as JSON text, checked to parse; kept as text so it is stored byte for byte. */
async function jsonText(c: Context): Promise<string> {
  const text = await c.req.text();
  try {
    JSON.parse(text);
  } catch {
    throw new RequestValidationError(text.trim() === "" ? "body is required: a JSON value" : "body must be valid JSON", "body");
  }
  return text;
}

/** `"3"`, `W/"3"` or `3` -> 3. `*` is refused: a write must name the version it read. */
function versionOf(header: string): number {
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m?.[1]) throw new RequestValidationError('If-Match must be one version, as in the ETag: "<n>"', "If-Match");
  return Number(m[1]);
}

const WRITER_HEADERS = [
  ["x-weft-agent", "agent"],
  ["x-weft-run", "run"],
  ["x-weft-node", "node"],
] as const;

function writerOf(c: Context): Writer {
  const writer: Writer = {};
  for (const [header, field] of WRITER_HEADERS) {
    const v = c.req.header(header);
    if (v === undefined) continue;
    if (!Id.safeParse(v).success) throw new RequestValidationError(`${header} may contain only letters, digits, '_', '.' and '-'`, header);
    writer[field] = v;
  }
  const attempt = c.req.header("x-weft-attempt");
  if (attempt !== undefined) {
    if (!/^\d{1,7}$/.test(attempt)) throw new RequestValidationError("x-weft-attempt must be a whole number", "x-weft-attempt");
    writer.attempt = Number(attempt);
  }
  return writer;
}

const MachineParams = z.object({ name: PathId.openapi({ param: { name: "name", in: "path" }, example: "booking" }) });
const MachineSchema = z
  .object({ name: z.string(), version: z.number().int(), states: z.array(z.string()), initial: z.string(), transitions: z.record(z.string(), z.array(z.string())) })
  .openapi("Machine");

const putMachine = createRoute({
  method: "put",
  path: "/v1/machines/{name}",
  tags: ["State machines"],
  summary: "Register (or replace) a state machine for this tenant's shared state",
  request: { params: MachineParams, body: { required: true, content: { "application/json": { schema: MachineBody } } } },
  responses: { 200: { description: "The machine", content: { "application/json": { schema: MachineSchema } } }, ...errorResponses(400, 401, 413, 503) },
});

const getMachine = createRoute({
  method: "get",
  path: "/v1/machines/{name}",
  tags: ["State machines"],
  summary: "A registered state machine",
  request: { params: MachineParams },
  responses: { 200: { description: "The machine", content: { "application/json": { schema: MachineSchema } } }, ...errorResponses(400, 401, 404, 503) },
});

/** OpenAPI entries for the plain handlers of one scope. */
function document(app: WeftApp, path: string, tag: string): void {
  const params = z.object(
    Object.fromEntries(
      [...path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, PathId.openapi({ param: { name: m[1]!, in: "path" } })]),
    ),
  );
  const ifMatch = z.object({ "if-match": z.string().optional().openapi({ description: 'The version read, as its ETag: "<n>"' }) });
  const etag = { ETag: { schema: { type: "string" as const }, description: 'The version: "<n>"' } };
  const anyJson = { "application/json": { schema: z.unknown().openapi("StateValue", { description: "Any JSON value" }) } };
  const version = { "application/json": { schema: z.object({ version: z.number().int() }) } };
  const routes: RouteConfig[] = [
    { method: "get", path, tags: [tag], summary: "Read a value; its version is the ETag", request: { params },
      responses: { 200: { description: "The value, as written", headers: etag, content: anyJson }, 304: { description: "If-None-Match matched" }, ...errorResponses(400, 401, 404, 503) } },
    { method: "put", path, tags: [tag], summary: "Write a value: If-Match compare-and-set, or If-None-Match: * to create", request: { params, headers: z.object({ "if-match": z.string().optional(), "if-none-match": z.string().optional() }), body: { content: anyJson } },
      responses: { 200: { description: "Written", headers: etag, content: version }, 201: { description: "Created", headers: etag, content: version }, ...errorResponses(400, 401, 409, 413, 422, 503) } },
    { method: "patch", path, tags: [tag], summary: "Apply a JSON merge patch (RFC 7396); with If-Match, only at that version", request: { params, headers: ifMatch, body: { content: anyJson } },
      responses: { 200: { description: "Patched value and its version", headers: etag }, ...errorResponses(400, 401, 404, 409, 413, 422, 503) } },
    { method: "delete", path, tags: [tag], summary: "Delete at a version (If-Match required)", request: { params, headers: ifMatch },
      responses: { 200: { description: "Deleted; the version of the tombstone", content: version }, ...errorResponses(400, 401, 409, 503) } },
    { method: "get", path: `${path}/history`, tags: [tag], summary: "Recent writes, newest first: version, op, writer, time", request: { params, query: z.object({ limit: z.string().optional() }) },
      responses: { 200: { description: "History entries" }, ...errorResponses(400, 401, 422, 503) } },
    { method: "post", path: `${path}/transition`, tags: [tag], summary: "Move the value's state along a registered machine, atomically", request: { params, body: { content: { "application/json": { schema: TransitionBody } } } },
      responses: { 200: { description: "Transitioned: version, from, to, value", headers: etag }, ...errorResponses(400, 401, 404, 409, 503) } },
  ];
  for (const r of routes) app.openAPIRegistry.registerPath(r);
}
