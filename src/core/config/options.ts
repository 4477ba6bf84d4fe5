/**
 * Which options each entry point takes, at run time: types are erased, so a JavaScript caller who
 * passes an option its entry cannot honour (a metrics port where no server can run, an interval
 * where no timer runs) gets a ConfigError that names it and says where it belongs, and a
 * misspelt one gets the closest name. The records are typed by the option groups of `types.ts`,
 * so that a group and its record cannot drift apart.
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { CommonOptions, HostOptions, NoServerOptions, TimerOptions } from "../api/types.ts";

/** The options of one group, each with `true`: the records below are checked against the types. */
export type Names<T> = { readonly [K in keyof Required<T>]: true };

/** Options every entry takes. */
export const COMMON_OPTIONS: Names<CommonOptions> = {
  namespace: true,
  registry: true,
  storage: true,
  metricsToken: true,
  metricsUsername: true,
  metricsPassword: true,
  publicMetrics: true,
  publishAfterResponse: true,
  flushWindowMs: true,
  publishOnScrape: true,
  minScrapeIntervalMs: true,
  staleAfterMs: true,
  deadAfterMs: true,
  seriesLimit: true,
  workerId: true,
  gaugeModes: true,
  exemplars: true,
  nativeHistograms: true,
  hooks: true,
  logger: true,
};

/** `metricsServer: false`, where no server can run. */
export const NO_SERVER_OPTIONS: Names<NoServerOptions> = { metricsServer: true };

/** Options of entries with timers between requests. */
export const TIMER_OPTIONS: Names<TimerOptions> = { publishIntervalMs: true, shutdownTimeoutMs: true };

/** Options of the host entries (Node, Bun, Deno). */
export const HOST_OPTIONS: Names<HostOptions> = {
  configFile: true,
  metricsPort: true,
  bindAddress: true,
  metricsServer: true,
  serverRetry: true,
  tls: true,
  workerMetricsIntervalMs: true,
  handleSignals: true,
  remoteWrite: true,
};

/** `group` without `names`: an entry that sets those itself (the supervisor names its workers). */
export function without(group: Readonly<Record<string, true>>, ...names: string[]): Readonly<Record<string, true>> {
  return Object.fromEntries(Object.keys(group).filter((name) => !names.includes(name)).map((name) => [name, true]));
}

/**
 * Throws a ConfigError for the first option of `options` that is in none of `groups`: with
 * `elsewhere`'s word on where it belongs when it has one, else the closest accepted name.
 * `metricsServer: true` is refused where only `false` is accepted (no host group).
 */
export function checkOptions(
  options: object,
  entry: string,
  groups: ReadonlyArray<Readonly<Record<string, true>>>,
  elsewhere: Readonly<Record<string, string>> = {},
): void {
  const accepted = new Set(groups.flatMap((group) => Object.keys(group)));
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (accepted.has(name)) {
      if (name === "metricsServer" && value !== false && !groups.includes(HOST_OPTIONS)) {
        throw new ConfigError(name, elsewhere[name] ?? `${entry} runs no metrics server; only false is accepted`);
      }
      continue;
    }
    const where = elsewhere[name];
    if (where !== undefined) throw new ConfigError(name, where);
    const near = closest(name, accepted);
    throw new ConfigError(name, `is not an option of ${entry}` + (near === undefined ? "" : `; did you mean ${near}?`));
  }
}

/** The accepted name nearest to `name` (edit distance at most a third of its length), if any. */
function closest(name: string, accepted: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of accepted) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
