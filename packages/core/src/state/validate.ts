import { z } from "zod";
import { Id } from "../dag/spec.js";
import { checkId as checkIdOnce, checkInt, LIMITS } from "../checks.js";
import { PayloadTooLargeError, ValidationError } from "../errors.js";
import { fromZodError } from "../validation.js";
import { RawJson, type MachineDefinition, type StateRef, type Writer } from "./types.js";

/** Checks every id of a ref; returns a copy holding only the known fields. */
export function checkRef(ref: StateRef): StateRef {
  if (ref === null || typeof ref !== "object") throw new ValidationError("state ref must be an object");
  const { tenant, key } = ref;
  checkId(tenant, "tenant");
  checkId(key, "key");
  const hasDag = "dagId" in ref && ref.dagId !== undefined;
  const hasNs = "namespace" in ref && ref.namespace !== undefined;
  if (hasDag === hasNs) throw new ValidationError("give exactly one of dagId or namespace", "namespace");
  if (hasDag) {
    checkId(ref.dagId, "dagId");
    return { tenant, dagId: ref.dagId, key };
  }
  const namespace = (ref as { namespace: string }).namespace;
  checkId(namespace, "namespace");
  return { tenant, namespace, key };
}

export function checkId(value: unknown, field: string): asserts value is string {
  checkIdOnce(value, field);
}

/** A value as the JSON text to store: RawJson is checked and kept byte for byte. */
export function toJsonText(value: unknown, maxBytes: number, field = "value"): string {
  let text: string | undefined;
  if (value instanceof RawJson) {
    try {
      JSON.parse(value.text);
    } catch {
      throw new ValidationError(`${field} must be valid JSON`, field);
    }
    text = value.text;
  } else {
    try {
      text = JSON.stringify(value);
    } catch (err) {
      throw new ValidationError(`${field} cannot be serialized as JSON: ${(err as Error).message}`, field);
    }
    if (text === undefined) throw new ValidationError(`${field} is required and must be a JSON value`, field);
  }
  if (Buffer.byteLength(text, "utf8") > maxBytes) {
    throw new PayloadTooLargeError(`${field} is larger than ${maxBytes} bytes`, field);
  }
  return text;
}

export function checkVersion(value: unknown, field = "expectedVersion"): number {
  return checkInt(value, field, 0, LIMITS.maxInteger);
}

const WriterSchema = z.object({
  writer: z
  .object({
    agent: Id.optional(),
    run: Id.optional(),
    node: Id.optional(),
    attempt: z.number().int().min(0).max(LIMITS.maxAttempt).optional(),
  })
  .strict(),
});

/** The writer to record; a run-scoped key is written by its run unless told otherwise. */
export function checkWriter(writer: Writer | undefined, ref: StateRef): Writer {
  const r = WriterSchema.safeParse({ writer: writer ?? {} }, { reportInput: true });
  if (!r.success) throw fromZodError(r.error, "writer");
  const out: Writer = { ...r.data.writer };
  if ("dagId" in ref && out.run === undefined) out.run = ref.dagId;
  return out;
}

const StateName = Id;

export const MachineDefinitionSchema = z
  .object({
    states: z.array(StateName).min(1).max(100),
    initial: StateName,
    transitions: z.record(z.string(), z.array(z.string()).max(100)),
  })
  .strict()
  .superRefine((m, ctx) => {
    const known = new Set<string>();
    m.states.forEach((s, i) => {
      if (known.has(s)) ctx.addIssue({ code: "custom", path: ["states", i], message: `lists ${s} twice` });
      known.add(s);
    });
    if (!known.has(m.initial)) {
      ctx.addIssue({ code: "custom", path: ["initial"], message: `must be one of the states, not ${m.initial}` });
    }
    for (const [from, tos] of Object.entries(m.transitions)) {
      if (!known.has(from)) ctx.addIssue({ code: "custom", path: ["transitions", from], message: "is not one of the states" });
      tos.forEach((to, i) => {
        if (!known.has(to)) ctx.addIssue({ code: "custom", path: ["transitions", from, i], message: `must be one of the states, not ${to}` });
      });
    }
  });

export function checkMachine(def: unknown): MachineDefinition {
  const r = MachineDefinitionSchema.safeParse(def, { reportInput: true });
  if (!r.success) throw fromZodError(r.error, "machine");
  return r.data;
}
