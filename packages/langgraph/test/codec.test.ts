import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { Send } from "@langchain/langgraph";
import { JsonPlusSerializer, type SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { dumpValue, loadValue } from "../src/codec.js";

const serde = new JsonPlusSerializer();

/** What LangGraph's own serializer writes and reads back for `value`. */
async function theirs(value: unknown): Promise<{ text: string | undefined; loaded: unknown }> {
  const [type, bytes] = await serde.dumpsTyped(value);
  return { text: type === "json" ? Buffer.from(bytes).toString("utf8") : undefined, loaded: await serde.loadsTyped(type, bytes) };
}

const cases: [string, unknown][] = [
  ["plain state", { messages: [{ role: "user", content: "hi" }], step: 3, ok: true, none: null, nested: { a: [1, [2, { b: "c" }]] } }],
  ["a string", "text"],
  ["a number", 42],
  ["null", null],
  ["non-finite numbers and -0", { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: -0 }],
  ["unicode and escapes", { s: "日本語 \u0001 \ud83d\ude00 \\u0041 \"q\" \n" }],
  ["a lone surrogate", { s: "\ud800" }],
  ["data with an lc key", { lc: 1, type: "constructor", id: ["Set"], args: [[1, 2]] }],
  ["an escaped lc key", JSON.parse('{"\\u006cc": 2, "type": "undefined"}')],
  ["a __proto__ key", JSON.parse('{"__proto__": {"polluted": true}, "x": 1}')],
  ["undefined inside an object", { a: undefined, b: 1 }],
  ["undefined inside an array", [1, undefined, 3]],
  ["a hole in an array", [1, , 3]],
  ["LangChain messages", { messages: [new HumanMessage("hello"), new AIMessage({ content: "hi", id: "m1" })] }],
  ["Set, Map, Date, RegExp, Error", { s: new Set([1]), m: new Map([["k", 1]]), d: new Date(0), r: /x/g, e: new Error("boom") }],
  ["bytes", new Uint8Array([0, 1, 255])],
  ["a Send", new Send("node", { x: 1 })],
  ["a Send-shaped plain object", { lg_name: "Send", node: "n", args: { x: 1 } }],
  ["an object without prototype", Object.assign(Object.create(null), { a: 1 })],
  ["a class instance", new (class Point { constructor(readonly x = 1) {} })()],
];

describe("codec: WeftSaver stores and reads values exactly as LangGraph's serializer does", () => {
  it.each(cases)("%s", async (_, value) => {
    const { text, loaded } = await theirs(value);
    const dumped = await dumpValue(serde, value);
    expect(dumped.includes("\0")).toBe(false);
    if (text !== undefined) expect(dumped).toBe(`json\n${text}`);
    const ours = await loadValue(serde, dumped);
    expect(ours).toStrictEqual(loaded);
    if (typeof loaded === "object" && loaded !== null) expect((ours as object).constructor).toBe(loaded.constructor);
  });

  it("revives LangChain messages as message classes, not plain objects", async () => {
    const ours = (await loadValue(serde, await dumpValue(serde, [new AIMessage("hi")])))! as unknown[];
    expect(ours[0]).toBeInstanceOf(AIMessage);
  });

  it("a serializer whose JSON holds a NUL (replies use NUL as separator) is stored as base64 and read back unchanged", async () => {
    const raw: SerializerProtocol = {
      dumpsTyped: async (v) => ["json", new TextEncoder().encode(`${String(v)}\0tail`)],
      loadsTyped: async (type, data) => `${type}:${typeof data === "string" ? data : new TextDecoder().decode(data)}`,
    };
    const dumped = await dumpValue(raw, "head");
    expect(dumped.includes("\0")).toBe(false);
    expect(await loadValue(raw, dumped)).toBe("json:head\0tail");
  });

  it("a subclass of JsonPlusSerializer is always asked (it may change what plain data becomes)", async () => {
    class Upper extends JsonPlusSerializer {
      override async loadsTyped(type: string, data: Uint8Array | string) {
        return String(await super.loadsTyped(type, data)).toUpperCase();
      }
    }
    expect(await loadValue(new Upper(), await dumpValue(new Upper(), "abc"))).toBe("ABC");
  });
});
