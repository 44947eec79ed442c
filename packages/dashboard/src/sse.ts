import { apiKey, STREAM_URL } from "./api";

/**
 * Server-Sent Events over fetch, for the tenant stream: unlike EventSource it can send the
 * Authorization header, so the key never goes in a URL. Reconnects after a drop.
 */
export function followSse(path: string, onData: (data: string) => void, onError: (status: number) => void): () => void {
  const ctl = new AbortController();
  void (async () => {
    while (!ctl.signal.aborted) {
      try {
        const key = apiKey.get();
        const res = await fetch(`${STREAM_URL}${path}`, { headers: { accept: "text/event-stream", ...(key ? { authorization: `Bearer ${key}` } : {}) }, signal: ctl.signal });
        if (!res.ok || !res.body) {
          onError(res.status);
          if (res.status === 401 || res.status === 404) return;
        } else {
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = "";
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            buf += value;
            let cut: number;
            while ((cut = buf.indexOf("\n\n")) >= 0) {
              const block = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              const data = block
                .split("\n")
                .filter((l) => l.startsWith("data: "))
                .map((l) => l.slice(6))
                .join("\n");
              if (data) onData(data);
            }
          }
        }
      } catch {
        if (ctl.signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return () => ctl.abort();
}
