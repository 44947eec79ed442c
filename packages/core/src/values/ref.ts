/**
 * References to large values (node inputs and outputs kept in S3, see store.ts): what Redis,
 * the cold store and the events hold in a large value's place, and what the API hands out
 * when it does not inline one. Pure (no AWS SDK): @weft/client shares it through
 * @weft/core/sdk to resolve references with plain fetch and to upload big outputs.
 *
 * A reference is a JSON object with one field, `$weftValue`:
 * `{ "$weftValue": { "key": "<prefix>/<tenant>/<dagId>/<node>/output-<sha256>.json", "bytes": 5242880 } }`,
 * and, as the API hands it out, a presigned `url` that reads the value (`GET ... ?values=url`,
 * or a value too big to inline in the response). An input or output sent to the API with
 * that shape is taken as a reference and checked: it must name an object of the same run
 * that exists (an upload, POST .../uploads); anything else is refused (422).
 */

/** The one field of a reference object. */
export const VALUE_REF_FIELD = "$weftValue";

/** Values above this many bytes of JSON go to S3 when the API has a value store (Step Functions' limit; WEFT_VALUE_THRESHOLD_BYTES lowers it). */
export const DEFAULT_VALUE_THRESHOLD_BYTES = 256 * 1024;
/** The largest input or output a node may have (stored in S3). */
export const MAX_VALUE_BYTES = 100 * 1024 * 1024;
/**
 * The most bytes of large values one API response inlines: Lambda answers at most 6 MB, and
 * API Gateway takes at most 10 MB. Past it the response carries the reference with a URL.
 */
export const INLINE_RESPONSE_BYTES = 5 * 1024 * 1024;
/** @weft/client uploads an output above this many bytes straight to S3 (POST .../uploads) instead of in the request body. */
export const DIRECT_UPLOAD_BYTES = 1024 * 1024;

/** A value's SHA-256 as upload keys carry it: 64 lowercase hex digits. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export interface ValueRefBody {
  key: string;
  bytes: number;
  /** A presigned GET of the value, as the API hands references out. */
  url?: string;
}

export interface ValueRef {
  [VALUE_REF_FIELD]: ValueRefBody;
}

/** Whether `v` has a reference's shape (one `$weftValue` field holding an object). */
export function isValueRef(v: unknown): v is ValueRef {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== VALUE_REF_FIELD) return false;
  const body = (v as ValueRef)[VALUE_REF_FIELD];
  return body !== null && typeof body === "object" && !Array.isArray(body);
}

export function valueRef(body: ValueRefBody): ValueRef {
  return { [VALUE_REF_FIELD]: body };
}

/** `items` with each reference among `fields` replaced by what `resolve` gives for it, in order (one at a time: a response's inline budget goes to the first ones). */
export async function resolveRefs<T extends object>(items: T[], fields: (keyof T & string)[], resolve: (ref: ValueRef) => Promise<unknown>): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) {
    let copy = item;
    for (const f of fields) {
      const v = item[f];
      if (isValueRef(v)) copy = { ...copy, [f]: await resolve(v) };
    }
    out.push(copy);
  }
  return out;
}

/** A record (parents' outputs by node id) with each reference replaced by what `resolve` gives for it, in order. */
export async function resolveRecordRefs(r: Record<string, unknown>, resolve: (ref: ValueRef) => Promise<unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[k] = isValueRef(v) ? await resolve(v) : v;
  return out;
}
