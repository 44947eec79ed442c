import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { apiEvent, reply } from "./apigw.js";
import { KEY_A, servedByApi } from "./harness.js";

/**
 * The document against the code: every documented route is driven with a valid-looking and
 * an invalid request, and each answer must be a status the document lists for that route,
 * with a body valid (ajv) against the schema documented for that status.
 */
let redis: RedisProcess;
let doc: any;
const ajv = new Ajv({ strict: false, allErrors: false });

beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:acme` } });
  doc = reply(await api(apiEvent("GET", "/openapi.json"))).json;
  for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(fix(schema), `#/components/schemas/${name}`);
});
afterAll(async () => {
  await resetRuntime();
  await redis?.stop();
});

/** OpenAPI 3.0's `nullable` as JSON Schema. */
function fix(schema: any): any {
  if (Array.isArray(schema)) return schema.map(fix);
  if (!schema || typeof schema !== "object") return schema;
  const out: any = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, fix(s)])) : fix(v);
  if (out.nullable) {
    delete out.nullable;
    return out.type ? { ...out, type: [out.type, "null"] } : { anyOf: [out, { type: "null" }] };
  }
  return out;
}

describe("responses conform to /openapi.json", () => {
  it("every documented route answers only documented statuses, with documented bodies", async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [path, ops] of Object.entries<any>(doc.paths).filter(([path]) => servedByApi(path))) {
      for (const [method, op] of Object.entries<any>(ops)) {
        const concrete = path.replace(/\{(\w+)\}/g, "conf-$1");
        const bodies = op.requestBody ? ["{}", '{"x":'] : [undefined];
        for (const body of bodies) {
          for (const p of [concrete, path.replace(/\{(\w+)\}/g, "bad%20id")]) {
            const r = reply(await api(apiEvent(method.toUpperCase(), p, { key: KEY_A, ...(body === undefined ? {} : { rawBody: body }) })));
            checked++;
            const label = `${method.toUpperCase()} ${p} ${body ?? ""} -> ${r.status}`;
            const documented = op.responses[String(r.status)];
            if (!documented) {
              problems.push(`${label}: status not documented`);
              continue;
            }
            const schema = documented.content?.["application/json"]?.schema;
            if (schema && r.json !== undefined && !ajv.validate(fix(schema), r.json)) problems.push(`${label}: ${ajv.errorsText()}`);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });
});
