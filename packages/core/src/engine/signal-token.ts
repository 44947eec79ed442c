import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";

/**
 * Signal tokens: a wait's capability to be signalled without the tenant's key (a webhook,
 * a button in a chat message). A token is the wait's address - tenant, run, node, wait
 * generation - and an expiry, sealed with AES-256-GCM under the deployment's signing
 * secret: base64url of a 96-bit IV, the ciphertext and the 128-bit tag. The IV is an HMAC
 * of the address under a second key derived from the secret (a synthetic IV, as in
 * AES-GCM-SIV), so one wait has one token - the same URL in NodeWaiting, in the log and in
 * a suspend's answer - and an IV never repeats for another plaintext. Guessing a token
 * means forging the 128-bit tag without the 256-bit key; nothing in it is readable. It is
 * single use because the engine accepts it only while the node waits in that generation:
 * ending the wait moves the generation on.
 */
export interface SignalAddress {
  tenant: string;
  dagId: string;
  nodeId: string;
  gen: number;
  /** Epoch ms after which the token is refused; 0 = only the wait's own end voids it. */
  expiresAt: number;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "1";

export interface SignalSealer {
  seal(address: SignalAddress): string;
  /** The address, or undefined for anything that is not a live token of this secret. */
  open(token: string, now?: number): SignalAddress | undefined;
}

/** The secret may be any string of at least 32 characters; the AES key is its SHA-256. */
export function signalSealer(secret: string | Buffer): SignalSealer {
  if (secret.length < 32) throw new Error("the signing secret (WEFT_SIGNING_SECRET) must be at least 32 characters");
  const key = createHash("sha256").update("weft signal token v1\0").update(secret).digest();
  const ivKey = createHash("sha256").update("weft signal token iv v1\0").update(secret).digest();
  return {
    seal(a) {
      const body = JSON.stringify([VERSION, a.tenant, a.dagId, a.nodeId, a.gen, a.expiresAt]);
      const iv = createHmac("sha256", ivKey).update(body).digest().subarray(0, IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const sealed = Buffer.concat([cipher.update(body, "utf8"), cipher.final()]);
      return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url");
    },
    open(token, now = Date.now()) {
      if (typeof token !== "string" || token.length < 40 || token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
      const raw = Buffer.from(token, "base64url");
      if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
        decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
        const body = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8");
        const [v, tenant, dagId, nodeId, gen, expiresAt] = JSON.parse(body) as [string, string, string, string, number, number];
        if (v !== VERSION || (expiresAt > 0 && now > expiresAt)) return undefined;
        return { tenant, dagId, nodeId, gen, expiresAt };
      } catch {
        return undefined;
      }
    },
  };
}

/** Where a token is used over HTTP (functions/http/routes/waits.ts serves it). */
export const signalPath = (token: string) => `/v1/signals/${token}`;
