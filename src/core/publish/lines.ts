/**
 * What the publisher says, once per event: a storage loss it repaired, a metric at its series
 * limit or with labels too long to store, what a shutdown could not deliver. Each line says what
 * happened and what to do.
 * @module
 */
import type { Restored } from "../storage.ts";
import type { Registry } from "../values/metrics.ts";
import type { MultiprocessMode } from "../values/modes.ts";
import { decodeCounter } from "../codec/values.ts";
import { splitSeriesKey } from "../codec/series_key.ts";
import { type DropReason, encodeSnapshot, MAX_SERIES_KEY_LENGTH } from "./snapshot.ts";

/** The one line of a repaired loss: what storage had lost, what was published again and put back. */
export function lossLine(
  kind: string,
  lost: string,
  series: number,
  restored: Restored,
  retiredVersion: number | undefined,
): string {
  const what = lost === "record"
    ? "this process's record"
    : lost === "retired"
    ? "the retired total"
    : `this process's ${lost}`;
  const put: string[] = [];
  if (restored.retired) put.push(`the retired total (version ${retiredVersion})`);
  if (restored.processes > 0) put.push(`${restored.processes} other process(es) as last read`);
  return `${kind} storage had lost ${what} (a restart without persistence, a flush, an eviction or an expiry): ` +
    `its whole state was published again (${series} series)` +
    (put.length > 0 ? `, and ${put.join(" and ")} put back` : "");
}

/** The one line of a metric whose new series are dropped. */
export function droppedLine(metric: string, reason: DropReason, seriesLimit: number): string {
  return reason === "limit"
    ? `metric ${metric} reached its limit of ${seriesLimit} series; new series are dropped ` +
      `(raise seriesLimit, or remove unbounded labels)`
    : `metric ${metric} has series whose labels are longer than ${MAX_SERIES_KEY_LENGTH} characters; ` +
      `they are not published (shorten the label values)`;
}

/** What storage has not acknowledged: how many series, and by how much each counter metric is ahead. */
export interface Undelivered {
  readonly series: number;
  readonly counters: Map<string, number>;
}

/** Encodes `registry` now and compares it with what storage acknowledged (`acked`), for the shutdown's last word. */
export async function undelivered(
  registry: Registry,
  options: { gaugeModes?: Readonly<Record<string, MultiprocessMode>>; seriesLimit: number; now: number },
  acked: ReadonlyMap<string, string>,
): Promise<Undelivered> {
  const ahead: Array<[string, string]> = [];
  const descriptors = await encodeSnapshot(
    registry,
    { ...options, known: acked, onDropped: () => {} },
    (key, value) => {
      if (acked.get(key) !== value) ahead.push([key, value]);
    },
  );
  const counters = new Map<string, number>();
  for (const [key, value] of ahead) {
    const metric = splitSeriesKey(key)[0];
    if (descriptors.get(metric)?.type !== "counter") continue;
    const more = (decodeCounter(value) ?? 0) - (decodeCounter(acked.get(key) ?? "0") ?? 0);
    counters.set(metric, (counters.get(metric) ?? 0) + more);
  }
  return { series: ahead.length, counters };
}
