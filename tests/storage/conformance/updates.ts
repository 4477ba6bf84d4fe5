/** What the storage suite publishes and retires at the `Storage` interface, shared by its rule files. */
import assert from "node:assert/strict";
import type { Expectation, MetricDescriptor, ProcessUpdate, Storage } from "../../../src/core/storage.ts";

export const counter: MetricDescriptor = { type: "counter", help: "Requests." };
export const histogram: MetricDescriptor = { type: "histogram", help: "Latency.", buckets: [0.1, 1] };
export const gauge: MetricDescriptor = { type: "gauge", help: "Depth.", mode: "max" };

/** One publish of process `id`, with the three descriptors. */
export function update(
  id: string,
  heartbeat: number,
  series: Record<string, string>,
  exited = false,
  more: Partial<ProcessUpdate> = {},
): ProcessUpdate {
  return {
    processId: id,
    heartbeat,
    exited,
    descriptors: new Map([["c_total", counter], ["h_seconds", histogram], ["g", gauge]]),
    series: new Map(Object.entries(series)),
    ...more,
  };
}

/** What storage acknowledged of a process that published series and descriptors at `heartbeat`. */
export const acknowledged = (heartbeat: number): Expectation => ({ heartbeat, series: true, descriptors: true });

/** Retires process `id` (read at `heartbeat`) folding `folded`, and checks that it committed. */
export async function retireOne(
  s: Storage,
  id: string,
  heartbeat: number,
  folded: Record<string, string>,
): Promise<void> {
  const read = await s.read();
  const retirement = {
    expectedVersion: read.retiredVersion,
    processes: [{ id, heartbeat }],
    retiredUpdates: new Map(Object.entries(folded)),
  };
  assert.equal(await s.retire(retirement), true, "the retirement commits");
}
