/** A Server-Sent Events client for tests: what EventSource does, with headers and a deadline. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Messages received so far (comments such as `: ping` are counted in `pings`). */
  messages: SseMessage[];
  pings: number;
  /** Resolves when the server closes the stream (or `close()` is called). */
  closed: Promise<void>;
  /** Resolves once `n` messages have arrived (rejects if the stream closes first). */
  waitFor(n: number, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
  /** Body text of a non-200 reply. */
  text?: string;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: ctl.signal });
  const messages: SseMessage[] = [];
  const waiters: { n: number; resolve(m: SseMessage[]): void; reject(e: Error): void }[] = [];
  let ended = false;
  const s: SseStream = {
    status: res.status,
    headers: res.headers,
    messages,
    pings: 0,
    closed: Promise.resolve(),
    waitFor(n, timeoutMs = 10_000) {
      if (messages.length >= n) return Promise.resolve(messages.slice(0, n));
      if (ended) return Promise.reject(new Error(`stream closed after ${messages.length} of ${n} messages`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out with ${messages.length} of ${n} messages`)), timeoutMs);
        waiters.push({ n, resolve: (m) => (clearTimeout(timer), resolve(m)), reject: (e) => (clearTimeout(timer), reject(e)) });
      });
    },
    close: () => ctl.abort(),
  };
  if (res.status !== 200 || !res.body) {
    s.text = await res.text();
    return s;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  s.closed = (async () => {
    let buf = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += value;
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const m: SseMessage = { event: "message", data: "" };
          const data: string[] = [];
          let comment = false;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) comment = true;
            else if (line.startsWith("id: ")) m.id = line.slice(4);
            else if (line.startsWith("event: ")) m.event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (comment && !data.length) s.pings++;
          if (!data.length) continue;
          m.data = data.join("\n");
          messages.push(m);
        }
        for (const w of waiters.filter((w) => messages.length >= w.n)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(messages.slice(0, w.n));
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      for (const w of waiters.splice(0)) w.reject(new Error(`stream closed after ${messages.length} of ${w.n} messages`));
    }
  })();
  return s;
}
