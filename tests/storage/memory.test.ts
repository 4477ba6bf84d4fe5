import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStorage, sharedMemoryStorage } from "../../src/storage/memory.ts";
import { testStorage } from "./conformance.ts";

testStorage("memory", (options) => new MemoryStorage(options), {
  tombstoneClock: "given",
  publishAndRead: false,
  retiredInAnswers: true,
  loseEverything: (s) => Promise.resolve((s as MemoryStorage).clear()),
});

test("memory storage: one shared instance per process", () => {
  assert.equal(sharedMemoryStorage(), sharedMemoryStorage());
});
