/**
 * The options of `prometheus()` and `instrument()`, checked when the app is set up (a misspelt or
 * impossible one is a ConfigError there, never a surprise later), and the custom labels: computed
 * from each request's Context, bounded in length and in distinct values, never failing a request.
 * @module
 */
import type { Context } from "hono";
import type { PrometheusOptions } from "../core/api/types.ts";
import { checkOptions, type Names } from "../core/config/options.ts";
import { ConfigError, describeError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

/** Every option of the middleware and of `instrument`. */
export const PROMETHEUS_OPTIONS: Names<PrometheusOptions> = {
  exporter: true,
  naming: true,
  durationBuckets: true,
  sizeBuckets: true,
  requestsByWorker: true,
  prefix: true,
  customLabels: true,
  customLabelLimit: true,
  exemplar: true,
};

/** Labels the HTTP metrics set themselves: a custom label cannot take one of these names. */
const OWN_LABELS = new Set(["method", "route", "status", "ok", "worker_id", "le"]);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** The longest value a custom label keeps. */
export const CUSTOM_VALUE_LENGTH = 128;
const DEFAULT_CUSTOM_LABEL_LIMIT = 100;

/**
 * Throws a ConfigError for the first option that cannot work: an unknown name (with the closest
 * one), a naming other than the two, a prefix without the naming it belongs to or not a metric
 * name, custom labels that are not functions or collide with the metrics' own labels, or custom
 * labels where `entry` records outside Hono's Context.
 */
export function checkHttpOptions(options: PrometheusOptions, entry: "prometheus" | "instrument"): void {
  const call = entry === "prometheus" ? "prometheus({ exporter, ... })" : "instrument(app, { exporter, ... })";
  checkOptions(options, call, [PROMETHEUS_OPTIONS]);
  const { naming, prefix, customLabels, customLabelLimit, exemplar } = options;
  // What is computed from the Context cannot be where instrument(app) records, outside it.
  const middlewareOnly = (option: "customLabels" | "exemplar") => {
    if (entry !== "instrument") return;
    throw new ConfigError(
      option,
      "instrument(app) records outside Hono's Context, where it would be computed: " +
        `use app.use(prometheus({ exporter, ${option} })) instead`,
    );
  };
  if (exemplar !== undefined) {
    middlewareOnly("exemplar");
    if (typeof exemplar !== "function") {
      throw new ConfigError("exemplar", `must be a function of the Context returning labels, not ${typeof exemplar}`);
    }
  }
  if (naming !== undefined && naming !== "exporter" && naming !== "@hono/prometheus") {
    throw new ConfigError("naming", `must be "exporter" or "@hono/prometheus", not ${JSON.stringify(naming)}`);
  }
  if (prefix !== undefined) {
    if (naming !== "@hono/prometheus") {
      throw new ConfigError(
        "prefix",
        'names the metrics of naming: "@hono/prometheus" (add it); with the default naming, ' +
          "set the exporter's namespace instead (createExporter({ namespace }))",
      );
    }
    if (typeof prefix !== "string" || (prefix !== "" && !PREFIX.test(prefix))) {
      throw new ConfigError(
        "prefix",
        `must be letters, digits, "_" or ":", not starting with a digit: ${String(prefix)}`,
      );
    }
  }
  if (customLabels !== undefined) {
    middlewareOnly("customLabels");
    if (typeof customLabels !== "object" || customLabels === null) {
      throw new ConfigError("customLabels", "must be an object of label name to function of the Context");
    }
    for (const [name, compute] of Object.entries(customLabels)) {
      if (!LABEL_NAME.test(name) || name.startsWith("__")) {
        throw new ConfigError(
          `customLabels.${name}`,
          'is not a label name: letters, digits and "_", not starting with a digit or "__"',
        );
      }
      if (OWN_LABELS.has(name)) {
        throw new ConfigError(
          `customLabels.${name}`,
          "is a label the HTTP metrics set themselves: choose another name",
        );
      }
      if (typeof compute !== "function") {
        throw new ConfigError(
          `customLabels.${name}`,
          `must be a function of the Context returning a string, not ${typeof compute}`,
        );
      }
    }
  }
  if (
    customLabelLimit !== undefined &&
    (typeof customLabelLimit !== "number" || !Number.isInteger(customLabelLimit) || customLabelLimit < 1)
  ) {
    throw new ConfigError("customLabelLimit", `must be a whole number of at least 1, not ${String(customLabelLimit)}`);
  }
}

interface Label {
  readonly name: string;
  readonly compute: (c: Context) => string;
  readonly seen: Set<string>;
  failed: boolean;
  full: boolean;
}

/** The custom labels of one middleware: their names, and each request's values. */
export class CustomLabels {
  readonly names: readonly string[];
  readonly #labels: readonly Label[];
  readonly #limit: number;
  readonly #logger: Logger;

  /**
   * @param labels The `customLabels` option, checked.
   * @param limit Distinct values kept per label.
   * @param logger Where a failing function or a full label is said, once each.
   */
  constructor(labels: Readonly<Record<string, (c: Context) => string>>, limit: number | undefined, logger: Logger) {
    this.#labels = Object.entries(labels).map(([name, compute]) => ({
      name,
      compute,
      seen: new Set(),
      failed: false,
      full: false,
    }));
    this.names = this.#labels.map((label) => label.name);
    this.#limit = limit ?? DEFAULT_CUSTOM_LABEL_LIMIT;
    this.#logger = logger;
  }

  /** The values for one handled request, in the order of `names`. Never throws. */
  values(c: Context): string[] {
    const values: string[] = [];
    for (const label of this.#labels) values.push(this.#value(label, c));
    return values;
  }

  #value(label: Label, c: Context): string {
    let value: string;
    try {
      const computed: unknown = label.compute(c);
      value = typeof computed === "string" ? computed : String(computed);
    } catch (error) {
      if (!label.failed) {
        label.failed = true;
        this.#logger.error(
          `customLabels.${label.name} threw (${
            describeError(error)
          }): requests it throws for are recorded with ${label.name}="error"`,
        );
      }
      return "error";
    }
    if (value.length > CUSTOM_VALUE_LENGTH) value = value.slice(0, CUSTOM_VALUE_LENGTH);
    if (label.seen.has(value)) return value;
    if (label.seen.size >= this.#limit) {
      if (!label.full) {
        label.full = true;
        this.#logger.warn(
          `customLabels.${label.name} has had ${this.#limit} distinct values (customLabelLimit): ` +
            `new values are recorded as ${label.name}="other"`,
        );
      }
      return "other";
    }
    label.seen.add(value);
    return value;
  }
}
