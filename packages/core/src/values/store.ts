import { createHash, randomUUID } from "node:crypto";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ID_PATTERN } from "../checks.js";
import { PayloadTooLargeError, UnavailableError } from "../errors.js";
import { MAX_VALUE_BYTES, SHA256_PATTERN } from "./ref.js";

/**
 * Large node values (inputs and outputs) kept in S3 instead of Redis: Redis and the cold
 * store hold a StoredValue (as a reference, ref.ts), the object holds the value's JSON text.
 * Objects of a run share the prefix `<prefix>/<tenant>/<dagId>/`, so the run's retention
 * deletes them by prefix (deployed: the bucket's lifecycle rule; locally: sweep()).
 */

/** Where a value belongs: the run, the node and which of its values. */
export interface ValueOwner {
  tenant: string;
  dagId: string;
  nodeId: string;
  field: "input" | "output";
}

/** What Redis and the cold store keep in a large value's place. */
export interface StoredValue {
  key: string;
  bytes: number;
}

export interface SweepOptions {
  /** Whether the run still exists (in Redis or the cold store): its objects are kept. */
  exists(tenant: string, dagId: string): Promise<boolean>;
  /** Objects younger than this are kept whatever `exists` says (a run being submitted). Default 1 hour. */
  graceMs?: number;
  /** A test clock (epoch ms). */
  now?: () => number;
}

export interface ValueStore {
  /**
   * Stores a value's JSON text under a key made of the owner and the text's SHA-256 (so the
   * same value stored twice, e.g. a retried completion, is the same reference); over
   * MAX_VALUE_BYTES is a PayloadTooLargeError naming the field.
   */
  put(owner: ValueOwner, json: string): Promise<StoredValue>;
  /** The value's JSON text; undefined once the object is gone. */
  get(value: StoredValue): Promise<string | undefined>;
  /** The object's size in bytes, undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  /** Whether `key` lies under the run's prefix (the only objects a run's references may name). */
  ownedBy(key: string, tenant: string, dagId: string): boolean;
  /** A URL that reads the value for `expiresInSeconds` (the dashboard, very large values). */
  readUrl(value: StoredValue, expiresInSeconds?: number): Promise<string>;
  /**
   * A URL a client uploads a value of `bytes` to (values over the API's request limit); with
   * the JSON's `sha256`, the key put() would give it (the same value uploaded twice is the same reference).
   */
  uploadUrl(owner: ValueOwner, bytes: number, o?: { expiresInSeconds?: number; sha256?: string }): Promise<{ url: string; value: StoredValue }>;
  /** Deletes every object of a run (its retention ended); how many went. */
  deleteRun(tenant: string, dagId: string): Promise<number>;
  /**
   * Deletes the objects of every run that no longer exists (its retention ended: Redis let
   * it go and the cold store's retention passed); what the deployed bucket's lifecycle rule
   * does by age, locally (s3rver has no lifecycle rules). How many objects went.
   */
  sweep(o: SweepOptions): Promise<{ runs: number; objects: number }>;
}

export interface S3ValueStoreOptions {
  bucket: string;
  prefix?: string;
  client?: S3Client;
  /** For a client made here: an S3-compatible endpoint (s3rver locally), path-style. */
  endpoint?: string;
}

/** What follows a run's prefix in its keys: `<node>/<input|output>-<name>.json` (the node id as checks.ts's ID_PATTERN has it). */
const OWN_KEY = new RegExp(`^${ID_PATTERN.source.slice(1, -1)}\\/(input|output)-[A-Za-z0-9_.-]{1,200}\\.json$`);

/** S3's answers that mean "no such object" rather than "S3 failed". */
const MISSING = new Set(["NoSuchKey", "NotFound", "NoSuchBucket"]);

export function createS3ValueStore(o: S3ValueStoreOptions): ValueStore {
  const local: S3ClientConfig | undefined = o.endpoint
    ? { endpoint: o.endpoint, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } }
    : undefined;
  const s3 = o.client ?? new S3Client(local ?? {});
  const prefix = o.prefix ?? "weft";
  const runPrefix = (tenant: string, dagId: string) => `${prefix}/${tenant}/${dagId}/`;
  const nodePrefix = (w: ValueOwner) => `${runPrefix(w.tenant, w.dagId)}${w.nodeId}/${w.field}-`;
  const check = (w: ValueOwner, bytes: number) => {
    if (bytes > MAX_VALUE_BYTES) throw new PayloadTooLargeError(`${w.field} of node ${w.nodeId} has ${bytes} bytes; a value may have at most ${MAX_VALUE_BYTES}`, w.field);
  };
  /** An S3 failure is the value store being unavailable (503), never the caller's fault. */
  const send = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (MISSING.has((err as Error).name)) throw err;
      throw new UnavailableError(`value store unavailable (${what}: ${(err as Error).name})`);
    }
  };
  const missing = (err: unknown) => MISSING.has((err as Error).name);

  const deleteKeys = async (keys: string[]) => {
    for (let i = 0; i < keys.length; i += 1000) {
      const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      await send("delete", () => s3.send(new DeleteObjectsCommand({ Bucket: o.bucket, Delete: { Objects, Quiet: true } })));
    }
  };
  /** Every object under `p`, page by page. */
  async function* list(p: string) {
    let token: string | undefined;
    do {
      const page = await send("list", () => s3.send(new ListObjectsV2Command({ Bucket: o.bucket, Prefix: p, ContinuationToken: token })));
      for (const c of page.Contents ?? []) if (c.Key) yield { key: c.Key, modified: c.LastModified?.getTime() ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  return {
    async put(owner, json) {
      const bytes = Buffer.byteLength(json);
      check(owner, bytes);
      const key = `${nodePrefix(owner)}${createHash("sha256").update(json).digest("hex")}.json`;
      await send("put", () => s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: json, ContentType: "application/json" })));
      return { key, bytes };
    },
    async get(value) {
      try {
        const r = await send("get", () => s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: value.key })));
        return (await r.Body?.transformToString("utf8")) ?? "";
      } catch (err) {
        if (missing(err)) return undefined;
        throw err;
      }
    },
    async size(key) {
      try {
        const r = await send("head", () => s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key })));
        return r.ContentLength ?? 0;
      } catch (err) {
        if (missing(err)) return undefined;
        throw err;
      }
    },
    ownedBy: (key, tenant, dagId) => {
      const run = runPrefix(tenant, dagId);
      // Exactly our keys' shape, and no "." or ".." segment (a file-backed server such as s3rver would follow it).
      return key.startsWith(run) && key.length <= 1024 && OWN_KEY.test(key.slice(run.length)) && !key.split("/").some((seg) => seg === "." || seg === "..");
    },
    readUrl: (value, expiresIn = 900) => getSignedUrl(s3, new GetObjectCommand({ Bucket: o.bucket, Key: value.key }), { expiresIn }),
    async uploadUrl(owner, bytes, uo = {}) {
      check(owner, bytes);
      const expiresIn = uo.expiresInSeconds ?? 900;
      const key = `${nodePrefix(owner)}${uo.sha256 && SHA256_PATTERN.test(uo.sha256) ? uo.sha256 : `upload-${randomUUID()}`}.json`;
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: o.bucket, Key: key, ContentLength: bytes, ContentType: "application/json" }), { expiresIn });
      return { url, value: { key, bytes } };
    },
    async deleteRun(tenant, dagId) {
      const keys: string[] = [];
      for await (const obj of list(runPrefix(tenant, dagId))) keys.push(obj.key);
      await deleteKeys(keys);
      return keys.length;
    },
    async sweep(so) {
      const now = (so.now ?? Date.now)();
      const grace = so.graceMs ?? 3_600_000;
      // Objects by run (<prefix>/<tenant>/<dagId>/...), those past the grace period only.
      const byRun = new Map<string, string[]>();
      for await (const obj of list(`${prefix}/`)) {
        const [, tenant, dagId] = obj.key.slice(prefix.length).split("/");
        if (!tenant || !dagId || now - obj.modified < grace) continue;
        const run = `${tenant}/${dagId}`;
        byRun.set(run, [...(byRun.get(run) ?? []), obj.key]);
      }
      let runs = 0;
      let objects = 0;
      for (const [run, keys] of byRun) {
        const [tenant, dagId] = run.split("/") as [string, string];
        if (await so.exists(tenant, dagId)) continue;
        await deleteKeys(keys);
        runs++;
        objects += keys.length;
      }
      return { runs, objects };
    },
  };
}
