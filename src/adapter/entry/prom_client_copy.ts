/**
 * Finds a second copy of prom-client: the one the app resolves (from its working directory or its
 * main module) when it is not the exporter's. Metrics the app declares with that copy register in
 * that copy's global registry, which the exporter never reads, so they would silently be missing
 * from /metrics. Host runtimes only; every failure to tell means "no second copy".
 * @module
 */
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";

/** A copy of prom-client on disk. */
interface Copy {
  readonly dir: string;
  readonly version: string;
  readonly main: string;
}

/**
 * Looks for a copy of prom-client that the app resolves and the exporter does not. Returns a check,
 * given the exporter's registry, that answers the warning to give once the app has declared
 * metrics in that copy's global registry and the exporter does not read it (undefined until
 * then), or undefined when there is no second copy.
 */
export function otherPromClient(): ((registry: unknown) => string | undefined) | undefined {
  try {
    const ours = copyFrom(import.meta.url);
    if (ours === undefined) return undefined;
    const bases = [join(process.cwd(), "app.js")];
    if (process.argv[1]) bases.push(process.argv[1]);
    for (const base of bases) {
      const theirs = copyFrom(base);
      if (theirs === undefined || theirs.dir === ours.dir) continue;
      const require = createRequire(base);
      return (registry) => {
        // Only a copy the app has loaded can hold its metrics; this never loads one.
        const loaded = require.cache[theirs.main]?.exports as
          | { register?: { getMetricsAsArray?: () => unknown[] } }
          | undefined;
        const count = loaded?.register?.getMetricsAsArray?.().length ?? 0;
        // Their registry given to the exporter is the fix, and then nothing is missing.
        if (count === 0 || loaded?.register === registry) return undefined;
        return `the app declared ${count} metric(s) with its own copy of prom-client (${theirs.version}, ` +
          `${theirs.dir}), which the exporter does not read (it uses ${ours.version}, ${ours.dir}): ` +
          `they are missing from /metrics. Pass that copy's registry to createExporter ` +
          `({ registry: register }, with register imported from the app's prom-client), import the metric ` +
          `classes from hono-prometheus-exporter, or install one prom-client version (npm dedupe)`;
      };
    }
  } catch {
    // Resolution is best effort: a runtime without node_modules has nothing to compare.
  }
  return undefined;
}

function copyFrom(base: string): Copy | undefined {
  try {
    const require = createRequire(base);
    const main = realpathSync(require.resolve("prom-client"));
    let dir = dirname(main);
    for (let i = 0; i < 4 && !/[\\/]prom-client$/.test(dir); i++) dir = dirname(dir);
    const pkg = require(join(dir, "package.json")) as { version?: string };
    return { dir, version: pkg.version ?? "unknown version", main };
  } catch {
    return undefined;
  }
}
