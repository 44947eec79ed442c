import { randomUUID } from "node:crypto";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { PayloadTooLargeError } from "../errors.js";

/**
 * Large node values (inputs and outputs) kept in S3 instead of Redis: Redis and the cold
 * store hold a StoredValue, the object holds the value's JSON text. Objects of a run share
 * the prefix `<prefix>/<tenant>/<dagId>/`, so the run's retention deletes them by prefix.
 */

/** Values above this many bytes of JSON go to S3 by default (Step Functions' own limit). */
export const DEFAULT_OFFLOAD_BYTES = 256 * 1024;
/** The largest value S3 takes for a node. */
export const MAX_VALUE_BYTES = 100 * 1024 * 1024;

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

export interface ValueStore {
  /** Stores a value's JSON text; over MAX_VALUE_BYTES is a PayloadTooLargeError naming the field. */
  put(owner: ValueOwner, json: string): Promise<StoredValue>;
  get(value: StoredValue): Promise<string>;
  /** A URL that reads the value for `expiresInSeconds` (the dashboard, very large values). */
  readUrl(value: StoredValue, expiresInSeconds?: number): Promise<string>;
  /** A URL a client uploads a value of `bytes` to (values over the API's request limit). */
  uploadUrl(owner: ValueOwner, bytes: number, expiresInSeconds?: number): Promise<{ url: string; value: StoredValue }>;
  /** Deletes every object of a run (its retention ended); how many went. */
  deleteRun(tenant: string, dagId: string): Promise<number>;
}

export interface S3ValueStoreOptions {
  bucket: string;
  prefix?: string;
  client?: S3Client;
  /** For a client made here: an S3-compatible endpoint (s3rver locally), path-style. */
  endpoint?: string;
}

export function createS3ValueStore(o: S3ValueStoreOptions): ValueStore {
  const local: S3ClientConfig | undefined = o.endpoint
    ? { endpoint: o.endpoint, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } }
    : undefined;
  const s3 = o.client ?? new S3Client(local ?? {});
  const prefix = o.prefix ?? "weft";
  const runPrefix = (tenant: string, dagId: string) => `${prefix}/${tenant}/${dagId}/`;
  const keyOf = (w: ValueOwner) => `${runPrefix(w.tenant, w.dagId)}${w.nodeId}/${w.field}-${randomUUID()}.json`;
  const check = (w: ValueOwner, bytes: number) => {
    if (bytes > MAX_VALUE_BYTES) throw new PayloadTooLargeError(`${w.field} of node ${w.nodeId} has ${bytes} bytes; a value may have at most ${MAX_VALUE_BYTES}`, w.field);
  };
  return {
    async put(owner, json) {
      const bytes = Buffer.byteLength(json);
      check(owner, bytes);
      const key = keyOf(owner);
      await s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: json, ContentType: "application/json" }));
      return { key, bytes };
    },
    async get(value) {
      const r = await s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: value.key }));
      return (await r.Body?.transformToString("utf8")) ?? "";
    },
    readUrl: (value, expiresIn = 900) => getSignedUrl(s3, new GetObjectCommand({ Bucket: o.bucket, Key: value.key }), { expiresIn }),
    async uploadUrl(owner, bytes, expiresIn = 900) {
      check(owner, bytes);
      const key = keyOf(owner);
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: o.bucket, Key: key, ContentLength: bytes, ContentType: "application/json" }), { expiresIn });
      return { url, value: { key, bytes } };
    },
    async deleteRun(tenant, dagId) {
      let deleted = 0;
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: o.bucket, Prefix: runPrefix(tenant, dagId), ContinuationToken: token }));
        const keys = (page.Contents ?? []).flatMap((c) => (c.Key ? [{ Key: c.Key }] : []));
        if (keys.length) {
          await s3.send(new DeleteObjectsCommand({ Bucket: o.bucket, Delete: { Objects: keys, Quiet: true } }));
          deleted += keys.length;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return deleted;
    },
  };
}
