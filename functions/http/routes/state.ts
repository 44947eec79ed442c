import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { IdSchema, LIMITS, VersionSchema } from "@weft/core/checks";
import { RawJson, type StateRef, type StateStore, type Writer } from "@weft/core";
import { MachineDefinitionSchema } from "@weft/core/validation";
import { errorResponses, RequestValidationError } from "../errors.js";
import { serve } from "../serve.js";
import { json, PathId, QueryInt } from "../schemas.js";
import { subApp, type WeftApp } from "./deps.js";

/**
 * Shared agent state over HTTP. A value is the request/response body itself (raw JSON,
 * stored byte for byte); its version travels as the ETag `"<n>"`. Every write is
 * conditional: PUT needs If-Match (compare-and-set) or If-None-Match: * (create), DELETE
 * needs If-Match, PATCH (RFC 7396 merge patch) takes an optional If-Match. Who wrote is
 * read from X-Weft-Agent / X-Weft-Run / X-Weft-Node / X-Weft-Attempt.
 */
export interface StateRouteDeps {
  state: StateStore;
}

const SCOPES = [
  { path: "/v1/dags/{dagId}/state/{key}", params: z.object({ dagId: PathId, key: PathId }), tag: "Run state" },
  { path: "/v1/state/{namespace}/{key}", params: z.object({ namespace: PathId, key: PathId }), tag: "Namespace state" },
] as const;

const VERSION_HEADER = /^\s*(?:W\/)?"?(\d{1,16})"?\s*$/;
const ETagText = z.string().regex(VERSION_HEADER, 'must be one version, as in the ETag: "<n>"');
const IfMatch = ETagText.openapi({ description: 'The version read, as its ETag: "<n>"', example: '"3"' });

const WriterHeaders = {
  "x-weft-agent": IdSchema.clone().optional().openapi({ description: "Who writes: the agent" }),
  "x-weft-run": IdSchema.clone().optional().openapi({ description: "Who writes: the run" }),
  "x-weft-node": IdSchema.clone().optional().openapi({ description: "Who writes: the node" }),
  "x-weft-attempt": z.string().regex(/^\d{1,7}$/, "must be a whole number").optional().openapi({ description: "Who writes: the attempt" }),
};

const AnyJson = z.unknown().openapi("StateValue", { description: "Any JSON value" });
const Version = z.object({ version: z.number().int() }).openapi("StateVersion");
const etag = { ETag: { schema: { type: "string" as const }, description: 'The version: "<n>"' } };

const TransitionBody = z
  .object({
    machine: IdSchema.clone(),
    to: IdSchema.clone(),
    expectedVersion: VersionSchema.optional().openapi({ description: "Compare-and-set on this version; 0: the key must not exist" }),
  })
  .strict()
  .openapi("TransitionRequest");

const MachineSchema = z
  .object({ name: z.string(), version: z.number().int(), states: z.array(z.string()), initial: z.string(), transitions: z.record(z.string(), z.array(z.string())) })
  .openapi("Machine");

export function stateRoutes({ state }: StateRouteDeps): WeftApp {
  const app = subApp();

  for (const scope of SCOPES) {
    const refOf = (c: Context, p: { key: string; dagId?: string; namespace?: string }): StateRef =>
      p.dagId !== undefined ? { tenant: tenantOf(c), dagId: p.dagId, key: p.key } : { tenant: tenantOf(c), namespace: p.namespace!, key: p.key };
    const { path, params, tag } = scope;
    const tags = [tag];

    serve(
      app,
      {
        method: "get",
        path,
        tags,
        summary: "Read a value; its version is the ETag",
        params,
        headers: z.object({ "if-none-match": z.string().optional().openapi({ description: "An ETag: 304 when it is still the current version" }) }),
        responses: {
          200: { description: "The value, as written", headers: etag, content: { "application/json": { schema: AnyJson } } },
          304: { description: "If-None-Match matched", headers: etag },
          ...errorResponses(404),
        },
      },
      async (c, { params: p, headers }) => {
        const entry = await state.get(refOf(c, p));
        const tag = `"${entry.version}"`;
        if (headers["if-none-match"] === tag) return c.body(null, 304, { ETag: tag });
        return c.body(entry.json, 200, { "Content-Type": "application/json", ETag: tag });
      },
    );

    serve(
      app,
      {
        method: "put",
        path,
        tags,
        summary: "Write a value: If-Match compare-and-set, or If-None-Match: * to create (one of the two is required)",
        params,
        headers: z.object({
          "if-match": IfMatch.optional(),
          "if-none-match": z.literal("*").optional().openapi({ description: "Create: the key must not exist" }),
          ...WriterHeaders,
        }),
        body: { required: true, mode: "text", schema: AnyJson },
        responses: {
          200: { ...json(Version, "Written"), headers: etag },
          201: { ...json(Version, "Created"), headers: etag },
          ...errorResponses(409, 422),
        },
      },
      async (c, { params: p, headers: h, body }) => {
        const ref = refOf(c, p);
        const value = new RawJson(body);
        const writer = writerOf(h);
        if (h["if-match"] !== undefined && h["if-none-match"] !== undefined) {
          throw new RequestValidationError("give If-Match or If-None-Match, not both", "If-Match");
        }
        if (h["if-none-match"] !== undefined) {
          const w = await state.create(ref, value, { writer });
          return c.json({ version: w.version }, 201, { ETag: `"${w.version}"` });
        }
        if (h["if-match"] === undefined) {
          throw new RequestValidationError('PUT needs If-Match: "<version>" (update) or If-None-Match: * (create)', "If-Match");
        }
        const w = await state.put(ref, value, { expectedVersion: versionOf(h["if-match"]), writer });
        return c.json({ version: w.version }, 200, { ETag: `"${w.version}"` });
      },
    );

    serve(
      app,
      {
        method: "patch",
        path,
        tags,
        summary: "Apply a JSON merge patch (RFC 7396); with If-Match, only at that version",
        params,
        headers: z.object({ "if-match": IfMatch.optional(), ...WriterHeaders }),
        body: { required: true, mode: "text", schema: AnyJson, description: "A merge patch (required)" },
        responses: {
          200: { ...json(z.object({ version: z.number().int(), value: z.unknown() }).openapi("PatchResult"), "Patched value and its version"), headers: etag },
          ...errorResponses(404, 409, 422),
        },
      },
      async (c, { params: p, headers: h, body }) => {
        const w = await state.patch(refOf(c, p), new RawJson(body), {
          writer: writerOf(h),
          ...(h["if-match"] === undefined ? {} : { expectedVersion: versionOf(h["if-match"]) }),
        });
        return c.json({ version: w.version, value: w.value }, 200, { ETag: `"${w.version}"` });
      },
    );

    serve(
      app,
      {
        method: "delete",
        path,
        tags,
        summary: "Delete at a version (If-Match required)",
        params,
        headers: z.object({ "if-match": IfMatch.optional().openapi({ description: 'Required: the version read, as its ETag: "<n>"' }), ...WriterHeaders }),
        responses: {
          200: json(z.object({ version: z.number().int(), deleted: z.literal(true) }).openapi("DeleteResult"), "Deleted; the version of the tombstone"),
          ...errorResponses(404, 409),
        },
      },
      async (c, { params: p, headers: h }) => {
        if (h["if-match"] === undefined) throw new RequestValidationError('DELETE needs If-Match: "<version>"', "If-Match");
        const w = await state.delete(refOf(c, p), { expectedVersion: versionOf(h["if-match"]), writer: writerOf(h) });
        return c.json({ version: w.version, deleted: true as const }, 200);
      },
    );

    serve(
      app,
      {
        method: "get",
        path: `${path}/history`,
        tags,
        summary: "Recent writes, newest first: version, op, writer, time",
        params,
        query: z.object({ limit: QueryInt(1, LIMITS.stateHistory).optional() }),
        responses: {
          200: json(
            z.object({ entries: z.array(z.object({ version: z.number().int(), op: z.string(), at: z.number().int() }).passthrough()) }).openapi("StateHistory"),
            "History entries",
          ),
        },
      },
      async (c, { params: p, query }) => c.json({ entries: await state.history(refOf(c, p), query.limit === undefined ? {} : { limit: query.limit }) }, 200),
    );

    serve(
      app,
      {
        method: "post",
        path: `${path}/transition`,
        tags,
        summary: "Move the value's state along a registered machine, atomically",
        params,
        headers: z.object(WriterHeaders),
        body: { required: true, schema: TransitionBody },
        responses: {
          200: { ...json(z.object({ version: z.number().int(), from: z.string().nullable(), to: z.string(), value: z.unknown() }).passthrough().openapi("TransitionResult"), "Transitioned"), headers: etag },
          ...errorResponses(404, 409, 422),
        },
      },
      async (c, { params: p, headers: h, body }) => {
        const r = await state.transition(refOf(c, p), { ...body, writer: writerOf(h) });
        return c.json(r, 200, { ETag: `"${r.version}"` });
      },
    );
  }

  // Listing, for people and dashboards: a scope's keys (with version and time), a tenant's namespaces.
  const ListQuery = z.object({
    limit: QueryInt(1, LIMITS.stateListMax).optional().openapi({ description: `Default 100, at most ${LIMITS.stateListMax}` }),
    cursor: z.string().regex(/^\d{1,20}$/, "must be the cursor of a previous page").optional().openapi({ description: "From the previous page" }),
  });
  const KeyList = json(
    z
      .object({ keys: z.array(z.object({ key: z.string(), version: z.number().int(), at: z.number().int() })), cursor: z.string().optional() })
      .openapi("StateKeyList"),
    "A page of keys, by name within the page (deleted keys left out); pass `cursor` back for the next",
  );
  const page = (q: { limit?: number | undefined; cursor?: string | undefined }) => ({
    ...(q.limit === undefined ? {} : { limit: q.limit }),
    ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
  });
  serve(
    app,
    {
      method: "get",
      path: "/v1/dags/{dagId}/state",
      tags: ["Run state"],
      summary: "The run's shared-state keys, each with its version and time",
      params: z.object({ dagId: PathId }),
      query: ListQuery,
      responses: { 200: KeyList },
    },
    async (c, { params: { dagId }, query }) => c.json(await state.keys({ tenant: tenantOf(c), dagId }, page(query)), 200),
  );
  serve(
    app,
    {
      method: "get",
      path: "/v1/state/{namespace}",
      tags: ["Namespace state"],
      summary: "A namespace's keys, each with its version and time",
      params: z.object({ namespace: PathId }),
      query: ListQuery,
      responses: { 200: KeyList },
    },
    async (c, { params: { namespace }, query }) => c.json(await state.keys({ tenant: tenantOf(c), namespace }, page(query)), 200),
  );
  serve(
    app,
    {
      method: "get",
      path: "/v1/state",
      tags: ["Namespace state"],
      summary: "The tenant's namespaces (each listed from its first key created)",
      query: ListQuery,
      responses: {
        200: json(z.object({ namespaces: z.array(z.string()), cursor: z.string().optional() }).openapi("NamespaceList"), "A page of namespace names; pass `cursor` back for the next"),
      },
    },
    async (c, { query }) => c.json(await state.namespaces(tenantOf(c), page(query)), 200),
  );

  const MachineParams = z.object({ name: PathId.openapi({ example: "booking" }) });
  serve(
    app,
    {
      method: "put",
      path: "/v1/machines/{name}",
      tags: ["State machines"],
      summary: "Register (or replace) a state machine for this tenant's shared state; transitions may name only declared states",
      params: MachineParams,
      body: { required: true, mode: "json", schema: MachineDefinitionSchema.clone().openapi("MachineDefinition") },
      responses: { 200: json(MachineSchema, "The machine") },
    },
    async (c, { params: { name }, body }) => c.json(await state.putMachine(tenantOf(c), name, body as never), 200),
  );
  serve(
    app,
    {
      method: "get",
      path: "/v1/machines/{name}",
      tags: ["State machines"],
      summary: "A registered state machine",
      params: MachineParams,
      responses: { 200: json(MachineSchema, "The machine"), ...errorResponses(404) },
    },
    async (c, { params: { name } }) => c.json(await state.getMachine(tenantOf(c), name), 200),
  );
  return app;
}

const tenantOf = (c: Context) => c.get("tenant") as string;

/** `"3"`, `W/"3"` or `3` -> 3. `*` is refused: a write must name the version it read. */
function versionOf(header: string): number {
  const m = VERSION_HEADER.exec(header);
  const n = Number(m?.[1]);
  if (!m || n > LIMITS.maxInteger) throw new RequestValidationError(`If-Match must be one version up to ${LIMITS.maxInteger}, as in the ETag: "<n>"`, "If-Match");
  return n;
}

function writerOf(h: Partial<Record<keyof typeof WriterHeaders, string>>): Writer {
  const writer: Writer = {};
  if (h["x-weft-agent"] !== undefined) writer.agent = h["x-weft-agent"];
  if (h["x-weft-run"] !== undefined) writer.run = h["x-weft-run"];
  if (h["x-weft-node"] !== undefined) writer.node = h["x-weft-node"];
  if (h["x-weft-attempt"] !== undefined) writer.attempt = Number(h["x-weft-attempt"]);
  return writer;
}
