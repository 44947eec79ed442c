import type { RunEvent, RunStatus } from "@weft/core/sdk";

export interface StreamOptions {
  /** Send events after this seq (0: from the start). */
  after?: number;
  /** Called with the events of each chunk the server sent, in order. */
  onEvents(events: RunEvent[]): void;
  signal?: AbortSignal;
}

export interface StreamEnd {
  status: RunStatus;
  /** The last seq received. */
  cursor: number;
}

/** Thrown when the server has no stream route (an older API): callers fall back to polling. */
export class StreamUnavailableError extends Error {}

/**
 * Follows `GET /v1/dags/{dagId}/events/stream` until its `end` event, reconnecting with
 * `Last-Event-ID` whenever the connection drops (a deploy, the 15-minute limit), so the
 * caller sees every event once. `url` returns the stream URL (with a fresh watch token).
 */
export async function followStream(url: () => Promise<string>, doFetch: typeof fetch, o: StreamOptions): Promise<StreamEnd> {
  let cursor = o.after ?? 0;
  let failures = 0;
  let target = await url();
  for (;;) {
    let res: Response;
    try {
      res = await doFetch(target, { headers: { accept: "text/event-stream", "last-event-id": String(cursor) }, ...(o.signal ? { signal: o.signal } : {}) });
    } catch (err) {
      if (o.signal?.aborted || ++failures > 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * failures));
      continue;
    }
    if (res.status === 401 && failures++ < 5) {
      // The watch token expired between reconnects: get another.
      await res.body?.cancel();
      target = await url();
      continue;
    }
    if (res.status === 404 || res.status === 405) {
      const text = await res.text();
      if (/no route|not_found/.test(text) && !/run .* not found/.test(text)) throw new StreamUnavailableError(text);
      throw new Error(text);
    }
    if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}: ${await res.text()}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        failures = 0;
        buf += value;
        const batch: RunEvent[] = [];
        let end: StreamEnd | undefined;
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = "message";
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (!data) continue;
          if (event === "end") end = JSON.parse(data) as StreamEnd;
          else if (event === "message") batch.push(JSON.parse(data) as RunEvent);
        }
        if (batch.length) {
          cursor = batch[batch.length - 1]!.seq;
          o.onEvents(batch);
        }
        if (end) {
          await reader.cancel();
          return { status: end.status, cursor: Math.max(cursor, end.cursor ?? 0) };
        }
      }
    } catch (err) {
      if (o.signal?.aborted) throw err;
    }
    // Closed without `end`: resume after the last event received.
    await new Promise((r) => setTimeout(r, 100));
  }
}
