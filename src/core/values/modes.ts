/**
 * Multiprocess modes: how a gauge's values from many processes become one exposed value.
 * Counters, histograms and summaries always sum; only gauges choose.
 * @module
 */
import { ConfigError } from "../errors.ts";

import type { MultiprocessMode } from "../storage.ts";

export type { MultiprocessMode };

/** Every accepted multiprocess mode. */
export const MULTIPROCESS_MODES: readonly MultiprocessMode[] = [
  "all",
  "liveall",
  "live",
  "max",
  "min",
  "sum",
  "mostrecent",
  "livemax",
  "livemin",
  "livesum",
  "livemostrecent",
];

/** The mode of a gauge that sets none: one series per process, as in prometheus_client. */
export const DEFAULT_GAUGE_MODE: MultiprocessMode = "all";

/** Validates a mode given by a user; `setting` names where it came from. */
export function parseMode(value: unknown, setting: string): MultiprocessMode {
  if (typeof value === "string" && (MULTIPROCESS_MODES as readonly string[]).includes(value)) {
    return value as MultiprocessMode;
  }
  throw new ConfigError(
    setting,
    `unknown multiprocess mode ${JSON.stringify(value)}; use one of ${MULTIPROCESS_MODES.join(", ")}`,
  );
}

/** The merge a mode performs, and whether it only looks at live processes. */
export interface ModeRule {
  /** `each` keeps one series per process; the others reduce to one value. */
  readonly reduce: "each" | "max" | "min" | "sum" | "mostrecent";
  /** Only processes still alive take part. */
  readonly liveOnly: boolean;
}

const RULES: Record<MultiprocessMode, ModeRule> = {
  all: { reduce: "each", liveOnly: false },
  liveall: { reduce: "each", liveOnly: true },
  live: { reduce: "each", liveOnly: true },
  max: { reduce: "max", liveOnly: false },
  min: { reduce: "min", liveOnly: false },
  sum: { reduce: "sum", liveOnly: false },
  mostrecent: { reduce: "mostrecent", liveOnly: false },
  livemax: { reduce: "max", liveOnly: true },
  livemin: { reduce: "min", liveOnly: true },
  livesum: { reduce: "sum", liveOnly: true },
  livemostrecent: { reduce: "mostrecent", liveOnly: true },
};

/** The merge rule of `mode`, or undefined for a mode this version does not know (stored data is untrusted). */
export function modeRule(mode: string): ModeRule | undefined {
  return Object.hasOwn(RULES, mode) ? RULES[mode as MultiprocessMode] : undefined;
}

/** Whether a gauge in `mode` needs the time of each set (stored with its value). */
export function needsTimestamp(mode: MultiprocessMode): boolean {
  return RULES[mode].reduce === "mostrecent";
}
