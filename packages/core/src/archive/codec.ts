import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gunzip as gunzipCb, gzip as gzipCb } from "node:zlib";
import type { RunEvent } from "../engine/types.js";
import type { RunArchive } from "./port.js";

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

/**
 * How an archive becomes bytes: the snapshot, the spec and the event log (cut into
 * segments of consecutive events, so a page of events reads one segment, not the whole
 * log) are each serialized to JSON, gzipped, then split into parts that fit a DynamoDB
 * item with room to spare.
 */

/** One gzip stream, split into parts; `hash` is of the JSON before compression. */
export interface EncodedBlob {
  hash: string;
  parts: Uint8Array[];
}

export interface EncodedSegment extends EncodedBlob {
  /** Seq of the segment's first and last event. */
  first: number;
  last: number;
}

export interface EncodedArchive {
  /** Hash of the whole content; also names the chunk keys, so equal content means equal keys. */
  hash: string;
  snapshot: EncodedBlob;
  spec?: EncodedBlob;
  segments: EncodedSegment[];
}

export interface CodecLimits {
  /** Largest part, bytes of compressed data. */
  chunkBytes: number;
  /** A segment is closed once its JSON reaches this many bytes. */
  segmentBytes: number;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);

async function encodeJson(json: string, chunkBytes: number): Promise<EncodedBlob> {
  // Level 3: deflate's fast strategy; level 6 costs ~1.7x the CPU for a few percent on text.
  const zipped = await gzip(Buffer.from(json, "utf8"), { level: 3 });
  const parts: Uint8Array[] = [];
  for (let off = 0; off < zipped.length; off += chunkBytes) parts.push(zipped.subarray(off, off + chunkBytes));
  return { hash: sha(json), parts };
}

/** Decodes parts back to the value; throws when the bytes are not what was hashed. */
export async function decodeBlob<T>(parts: Uint8Array[], hash: string, what: string): Promise<T> {
  const json = (await gunzip(Buffer.concat(parts))).toString("utf8");
  if (sha(json) !== hash) throw new Error(`archived ${what} does not match its hash: the archive is corrupt`);
  return JSON.parse(json) as T;
}

function cutSegments(events: RunEvent[], segmentBytes: number): { first: number; last: number; json: string }[] {
  const out: { first: number; last: number; json: string }[] = [];
  let batch: string[] = [];
  let size = 0;
  let first = 0;
  let last = 0;
  for (const e of events) {
    const json = JSON.stringify(e);
    if (batch.length === 0) first = e.seq;
    batch.push(json);
    last = e.seq;
    size += Buffer.byteLength(json);
    if (size >= segmentBytes) {
      out.push({ first, last, json: `[${batch.join(",")}]` });
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) out.push({ first, last, json: `[${batch.join(",")}]` });
  return out;
}

export async function encodeArchive(archive: RunArchive, limits: CodecLimits): Promise<EncodedArchive> {
  const segments = cutSegments(archive.events, limits.segmentBytes);
  const [snapshot, spec, ...encoded] = await Promise.all([
    encodeJson(JSON.stringify(archive.snapshot), limits.chunkBytes),
    archive.spec === undefined ? undefined : encodeJson(JSON.stringify(archive.spec), limits.chunkBytes),
    ...segments.map((s) => encodeJson(s.json, limits.chunkBytes)),
  ]);
  const segs = encoded.map((blob, i) => ({ ...blob!, first: segments[i]!.first, last: segments[i]!.last }));
  const hash = createHash("sha256")
    .update([snapshot!.hash, spec?.hash ?? "-", ...segs.map((s) => `${s.first}:${s.last}:${s.hash}`)].join("/"))
    .digest("hex")
    .slice(0, 32);
  return { hash, snapshot: snapshot!, ...(spec ? { spec } : {}), segments: segs };
}
