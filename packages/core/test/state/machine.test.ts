import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "@weft/core";
import { keySchema } from "@weft/core/redis";
import { createStateStore, type MachineDefinition, type StateRef, type StateStore } from "@weft/core";
import { backends, useBackend } from "@weft/test-support";

const BOOKING: MachineDefinition = {
  states: ["PENDING", "PENDING_PAYMENT", "COMPLETED", "FAILED", "CANCELLED", "REFUND_PENDING"],
  initial: "PENDING",
  transitions: {
    PENDING: ["PENDING_PAYMENT", "CANCELLED"],
    PENDING_PAYMENT: ["COMPLETED", "FAILED", "CANCELLED"],
    COMPLETED: ["REFUND_PENDING"],
  },
};

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

const tenant = () => `t-${randomUUID().slice(0, 8)}`;

describe.each(backends)("state machines on %s", (name) => {
  const backend = useBackend(name);
  const open = (): StateStore => createStateStore({ redis: backend().redis(), keys: keySchema("weft", backend().shardCount) });

  it("registers a machine and reads it back, versioned", async () => {
    const s = open();
    const t = tenant();
    expect(await s.putMachine(t, "booking", BOOKING)).toMatchObject({ name: "booking", version: 1, initial: "PENDING" });
    expect((await s.putMachine(t, "booking", BOOKING)).version).toBe(2);
    expect(await s.getMachine(t, "booking")).toEqual({ name: "booking", version: 2, ...BOOKING });
    expect(await rejection(s.getMachine(tenant(), "booking"))).toBeInstanceOf(NotFoundError);
  });

  it("rejects a machine naming unknown states, naming the field", async () => {
    const s = open();
    const t = tenant();
    const cases: [unknown, string][] = [
      [{ ...BOOKING, initial: "NOPE" }, "initial"],
      [{ ...BOOKING, transitions: { PENDING: ["NOPE"] } }, "transitions.PENDING[0]"],
      [{ ...BOOKING, transitions: { NOPE: ["PENDING"] } }, "transitions.NOPE"],
      [{ ...BOOKING, states: ["A", "A"], initial: "A", transitions: {} }, "states[1]"],
      [{ ...BOOKING, states: [] }, "states"],
      [{ initial: "A", transitions: {} }, "states"],
      [{ ...BOOKING, extra: 1 }, "extra"],
    ];
    for (const [def, field] of cases) {
      const err = await rejection(s.putMachine(t, "m", def));
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field, JSON.stringify(def)).toBe(field);
    }
    expect((await rejection(s.putMachine(t, "bad name", BOOKING)) as ValidationError).field).toBe("name");
    expect(await rejection(s.getMachine(t, "m"))).toBeInstanceOf(NotFoundError);
  });

  it("walks a booking through its machine and records each transition", async () => {
    const s = open();
    const ref: StateRef = { tenant: tenant(), namespace: "bookings", key: "session_123" };
    await s.putMachine(ref.tenant, "booking", BOOKING);
    const first = await rejection(s.transition(ref, { machine: "booking", to: "COMPLETED" }));
    expect((first as ConflictError).details).toMatchObject({ allowed: ["PENDING"], reason: "transition" });
    expect(await s.transition(ref, { machine: "booking", to: "PENDING" })).toMatchObject({ version: 1, to: "PENDING" });
    await s.patch(ref, { customer: "c-9", seats: [] });
    const paid = await s.transition(ref, { machine: "booking", to: "PENDING_PAYMENT", writer: { agent: "payer" } });
    expect(paid).toMatchObject({ from: "PENDING", to: "PENDING_PAYMENT", version: 3 });
    const e = await s.get(ref);
    expect(e).toMatchObject({ value: { state: "PENDING_PAYMENT", customer: "c-9", seats: [] }, machine: "booking", state: "PENDING_PAYMENT" });
    const h = await s.history(ref);
    expect(h[0]).toMatchObject({ op: "transition", from: "PENDING", to: "PENDING_PAYMENT", writer: { agent: "payer" } });
  });

  it("rejects the booking race: a stale agent writing PENDING_PAYMENT back after COMPLETED", async () => {
    const s = open();
    const ref: StateRef = { tenant: tenant(), namespace: "bookings", key: "session_123" };
    await s.putMachine(ref.tenant, "booking", BOOKING);
    await s.transition(ref, { machine: "booking", to: "PENDING" });
    await s.transition(ref, { machine: "booking", to: "PENDING_PAYMENT" });
    // Both agents read the booking at PENDING_PAYMENT.
    const seen = await s.get(ref);
    // Agent A confirms payment.
    await s.transition(ref, { machine: "booking", to: "COMPLETED", expectedVersion: seen.version });
    // Agent B, still thinking from its stale read, writes its copy back three ways; all fail.
    const viaPut = await rejection(s.put(ref, { ...(seen.value as object), note: "retry" }, { expectedVersion: seen.version }));
    expect((viaPut as ConflictError).details).toMatchObject({ reason: "version", current: { value: { state: "COMPLETED" }, version: 3 } });
    const viaVersion = await rejection(s.transition(ref, { machine: "booking", to: "PENDING_PAYMENT", expectedVersion: seen.version }));
    expect(viaVersion).toBeInstanceOf(ConflictError);
    const viaMachine = await rejection(s.transition(ref, { machine: "booking", to: "PENDING_PAYMENT" }));
    expect(viaMachine.message).toMatch(/COMPLETED -> PENDING_PAYMENT.*REFUND_PENDING/);
    expect((viaMachine as ConflictError).details).toMatchObject({ reason: "transition", allowed: ["REFUND_PENDING"], current: { state: "COMPLETED", version: 3 } });
    // Even at the current version, a plain write cannot move the state around the machine.
    const viaCurrentPut = await rejection(s.put(ref, { state: "PENDING_PAYMENT" }, { expectedVersion: 3 }));
    expect((viaCurrentPut as ConflictError).details).toMatchObject({ reason: "machine" });
    expect(await s.get(ref)).toMatchObject({ value: { state: "COMPLETED" }, version: 3, state: "COMPLETED" });
    // Writes that keep the state are fine, and a final state has no way out but its edges.
    expect((await s.put(ref, { state: "COMPLETED", receipt: "r-1" }, { expectedVersion: 3 })).version).toBe(4);
    const final = await rejection(s.transition(ref, { machine: "booking", to: "CANCELLED" }));
    expect((final as ConflictError).details).toMatchObject({ allowed: ["REFUND_PENDING"] });
  });

  it("rejects a transition to an unknown state or under an unknown machine as bad input", async () => {
    const s = open();
    const ref: StateRef = { tenant: tenant(), namespace: "bookings", key: "b" };
    await s.putMachine(ref.tenant, "booking", BOOKING);
    expect(((await rejection(s.transition(ref, { machine: "booking", to: "PAID" }))) as ValidationError).field).toBe("to");
    expect(((await rejection(s.transition(ref, { machine: "booking", to: "bad state" }))) as ValidationError).field).toBe("to");
    expect(await rejection(s.transition(ref, { machine: "nope", to: "PENDING" }))).toBeInstanceOf(NotFoundError);
    expect(await s.read(ref)).toBeUndefined();
  });

  it("never leaves a value in a state the machine does not allow, whatever the sequence of writes", async () => {
    const s = open();
    const t = tenant();
    await s.putMachine(t, "booking", BOOKING);
    const state = fc.constantFrom(...BOOKING.states);
    const op = fc.oneof(
      fc.record({ kind: fc.constant("transition" as const), to: state, stale: fc.boolean(), versioned: fc.boolean() }),
      fc.record({ kind: fc.constant("put" as const), to: state }),
      fc.record({ kind: fc.constant("patch" as const), to: state }),
      fc.record({ kind: fc.constant("data" as const), n: fc.integer() }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const ref: StateRef = { tenant: t, namespace: "prop", key: `k${run++}` };
        let prev: string | undefined;
        for (const o of ops) {
          const before = await s.read(ref);
          const version = before?.version ?? 0;
          const attempt = (): Promise<unknown> => {
            switch (o.kind) {
              case "transition":
                return s.transition(ref, { machine: "booking", to: o.to, ...(o.versioned ? { expectedVersion: o.stale ? Math.max(0, version - 1) + (version === 0 ? 1 : 0) : version } : {}) });
              case "put":
                return s.put(ref, { state: o.to }, { expectedVersion: version });
              case "patch":
                return s.patch(ref, { state: o.to });
              case "data":
                return s.patch(ref, { n: o.n });
            }
          };
          await attempt().catch((err: unknown) => {
            if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
          });
          const after = await s.read(ref);
          const now = after === undefined ? undefined : (after.value as { state?: string }).state;
          if (now !== prev) {
            const allowed = prev === undefined ? [BOOKING.initial] : (BOOKING.transitions[prev] ?? []);
            expect(allowed, `${prev} -> ${now}`).toContain(now);
            expect(after?.state).toBe(now);
          }
          prev = now;
        }
      }),
      { numRuns: name === "upstash" ? 15 : 40 },
    );
  }, 180_000);
});
