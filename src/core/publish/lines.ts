/**
 * What the publisher says, once per event: a storage loss it repaired, a metric at its series
 * limit or with labels too long to store. Each line says what happened and what to do.
 * @module
 */
import type { Restored } from "../storage.ts";
import { type DropReason, MAX_SERIES_KEY_LENGTH } from "./snapshot.ts";

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
