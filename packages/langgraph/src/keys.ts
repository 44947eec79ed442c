import { ValidationError } from "@weft/core";

/**
 * The key schema of the saver: every Redis key WeftSaver uses is named here.
 *
 * A thread is two keys that share the hash tag `{t:<thread>}`, so every script of a
 * thread touches one Redis Cluster slot (the layout of their fields is described in
 * lua/includes/thread.lua). The thread index, one zset, lives in a slot of its own.
 * Thread ids outside [A-Za-z0-9_.:-] (braces would change the hash tag) are written as
 * `~` + base64url, which cannot collide with a plain id.
 */
export interface SaverKeys {
  readonly prefix: string;
  /** [thread hash, thread checkpoint zset]: the KEYS of every thread script. */
  thread(threadId: string): [string, string];
  /** The index of threads (members: thread ids). */
  readonly index: string;
}

const PLAIN = /^[A-Za-z0-9_.:-]{1,256}$/;

export function saverKeys(prefix = "weft:lg"): SaverKeys {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
    throw new ValidationError("prefix must be 1-64 characters of [A-Za-z0-9_.:-]", "prefix");
  }
  return {
    prefix,
    thread(threadId) {
      const tag = PLAIN.test(threadId) ? threadId : `~${Buffer.from(threadId, "utf8").toString("base64url")}`;
      const base = `${prefix}:{t:${tag}}:`;
      return [`${base}h`, `${base}z`];
    },
    index: `${prefix}:{${prefix}}:threads`,
  };
}
