// Run-spec validation speed at the 10,000-node limit: `npx tsx bench/validate.ts`.
import { RunSpecSchema, validateRun } from "@weft/core/validation";
// Also the zod parse alone: what the API edge did before core parsed the spec again (M8: parsed once, by core).
const N = 10000;
const fan = { nodes: [{ id: "r", agent: "a" }, ...Array.from({ length: N - 2 }, (_, i) => ({ id: `n${i}`, agent: "a", deps: ["r"] })), { id: "s", agent: "a", deps: Array.from({ length: N - 2 }, (_, i) => `n${i}`) }] };
const chain = { nodes: Array.from({ length: N }, (_, i) => ({ id: `c${i}`, agent: "a", ...(i ? { deps: [`c${i - 1}`] } : {}) })) };
let seed = 7; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const layered = { nodes: Array.from({ length: N }, (_, i) => ({ id: `l${i}`, agent: "a", ...(i >= 100 ? { deps: [...new Set([0, 1, 2].map(() => `l${Math.floor(rnd() * (Math.floor(i / 100) * 100))}`))] } : {}), input: { i } })) };
const median = (f: () => unknown) => {
  for (let i = 0; i < 10; i++) f();
  const t: number[] = [];
  for (let i = 0; i < 31; i++) { const t0 = performance.now(); f(); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  return `median ms ${t[15]!.toFixed(1)} min ${t[0]!.toFixed(1)}`;
};
for (const [name, spec] of Object.entries({ fan, chain, layered })) {
  console.log(name, "validateRun", median(() => validateRun(spec)), "| RunSpecSchema.parse alone", median(() => RunSpecSchema.parse(spec)));
}
