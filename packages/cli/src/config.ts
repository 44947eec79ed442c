import { createClient, type WeftClient } from "@weft/client";

/** Options every command takes (declared once on the program). */
export interface GlobalOptions {
  api?: string;
  key?: string;
  json?: boolean;
}

export const DEFAULT_API_URL = "http://127.0.0.1:3000";

export interface Context {
  client: WeftClient;
  baseUrl: string;
  apiKey: string | undefined;
  /** Machine-readable output: JSON on stdout, errors as JSON too. */
  json: boolean;
  /** Colors and live redraws: stdout is a terminal and NO_COLOR is unset. */
  tty: boolean;
}

/** Flags win over the environment; the environment over the local default. */
export function contextFrom(o: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Context {
  const baseUrl = o.api ?? env.WEFT_API_URL ?? DEFAULT_API_URL;
  const apiKey = o.key ?? (env.WEFT_API_KEY || undefined);
  return {
    client: createClient({ baseUrl, ...(apiKey ? { apiKey } : {}) }),
    baseUrl,
    apiKey,
    json: o.json === true,
    tty: process.stdout.isTTY === true && !env.NO_COLOR,
  };
}
