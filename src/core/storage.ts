/**
 * The one interface every backend (memory, filesystem, Upstash, Redis) implements. Publishers write
 * a process's changed series as absolute values; collectors read everything in a constant number of
 * round trips and retire dead processes with a compare-and-set, so retirement happens once. Storage
 * may lose everything at any moment: a publish that finds storage no longer holds what it
 * acknowledged says so (`lost`), and the process publishes its whole state again, putting back
 * what it knows of others where storage has nothing in its place (`Restoration`).
 * @module
 */
import type { EnvSource } from "./env.ts";

/**
 * How a gauge is merged across processes, with prometheus_client's meanings.
 * - `all`: one series per process, with a `process_id` label (dead processes kept until retired).
 * - `liveall` (alias `live`): like `all`, live processes only.
 * - `max`, `min`, `sum`: one series, over every process not yet retired.
 * - `mostrecent`: the value set most recently, by the time it was set.
 * - `livemax`, `livemin`, `livesum`, `livemostrecent`: the same, over live processes only.
 */
export type MultiprocessMode =
  | "all"
  | "liveall"
  | "live"
  | "max"
  | "min"
  | "sum"
  | "mostrecent"
  | "livemax"
  | "livemin"
  | "livesum"
  | "livemostrecent";

/** The four metric types of the Prometheus data model. */
export type MetricType = MetricDescriptor["type"];

/** What a collector needs to know to merge and render one metric family. */
export interface MetricDescriptor {
  /** The metric type. */
  readonly type: "counter" | "gauge" | "histogram" | "summary";
  /** The HELP text. */
  readonly help: string;
  /** How a gauge merges across processes; absent on other types. */
  readonly mode?: MultiprocessMode;
  /** A histogram's finite bucket upper bounds, ascending; absent on other types. */
  readonly buckets?: readonly number[];
}

/** Series key (see `codec/series_key.ts`) to encoded value (see `codec/values.ts`). */
export type SeriesMap = Map<string, string>;

/** One publish: the series that changed since the last acknowledged publish, as absolute values. */
export interface ProcessUpdate {
  /** The publishing process's identity, unique across hosts and restarts. */
  readonly processId: string;
  /** When the process published, in milliseconds since the epoch: its heartbeat. */
  readonly heartbeat: number;
  /** True on the last publish of a process that is shutting down. */
  readonly exited: boolean;
  /** Descriptors of metrics new or changed since the last acknowledged publish. */
  readonly descriptors: ReadonlyMap<string, MetricDescriptor>;
  /** Changed series, absolute values. Writing them again changes nothing (idempotent). */
  readonly series: ReadonlyMap<string, string>;
  /**
   * What storage acknowledged of this process so far; absent when nothing was. When storage no
   * longer holds it, the publish writes nothing and answers `lost`.
   */
  readonly expect?: Expectation;
  /** The whole state of the process: its stored series are replaced, not merged (after a loss). */
  readonly replace?: boolean;
  /** The retired version this process knows: an answer carries the retired total when it differs. */
  readonly retiredVersion?: number;
  /** What this process knows of others, put back where storage has nothing (with `replace`). */
  readonly restore?: Restoration;
}

/** What storage acknowledged of one process: a publish checks it is still there. */
export interface Expectation {
  /** The heartbeat of the last acknowledged publish: the stored record must carry exactly it... */
  readonly heartbeat: number;
  /** ...or this one, of a later publish whose answer was lost (it may have landed). */
  readonly sent?: number;
  /** Whether series were acknowledged: the process's series must be stored. */
  readonly series: boolean;
  /** Whether descriptors were acknowledged: descriptors must be stored. */
  readonly descriptors: boolean;
  /** Whether the process knows a retired total with something in it: storage must hold one. */
  readonly retired?: boolean;
}

/**
 * What a process puts back after storage lost data, each part only where storage has nothing in
 * its place, so that two processes restoring the same loss do not count anything twice.
 */
export interface Restoration {
  /** The retired total: written when storage holds neither copy (the version too, when it has none). */
  readonly retired?: RetiredTotal;
  /** Descriptors, each written where storage has none by that name. */
  readonly descriptors: ReadonlyMap<string, MetricDescriptor>;
  /**
   * Other processes as last read, each written where storage has no record, series and tombstone
   * of that id, and only with the retired total they were read with: when this publish wrote
   * that total back, or storage's retired version is `version` (else a process folded since would
   * count twice). A live one notices at its next publish that its record is not the one it wrote,
   * and replaces it.
   */
  readonly processes: readonly ProcessRecord[];
  /** The retired version `processes` were read at. */
  readonly version: number;
}

/** The retired total at one version, as a process last learned it. */
export interface RetiredTotal {
  /** The retired version it was read at. */
  readonly version: number;
  /** Series key to folded value. */
  readonly series: ReadonlyMap<string, string>;
  /** The second copy, where the backend keeps one (values that do not read in `series` come from it). */
  readonly copy?: ReadonlyMap<string, string>;
}

/** What a publish that replaced a lost state put back. */
export interface Restored {
  /** Whether the retired total was written back. */
  readonly retired: boolean;
  /** How many other processes' records were written back. */
  readonly processes: number;
}

/** Nothing put back. */
export const NOTHING_RESTORED: Restored = { retired: false, processes: 0 };

/**
 * What storage did with a publish. `ok`: written; `retired` and `descriptors` when the retired
 * version differs from the one the process said it knows; `restored` after a `replace`; `epoch`,
 * where shared descriptors can be lost apart from a process's own record (Redis): it changes at
 * each repaired loss, and a process that sees it change sends all its descriptors again.
 * `retired`: a collector had retired this identity: nothing was written, and `folded` holds
 * exactly the values that were folded into the retired total. `lost`: storage no longer holds what
 * it acknowledged (`lost` says what): nothing was written; the process publishes its whole state.
 */
export type PublishOutcome =
  | {
    readonly status: "ok";
    readonly retired?: RetiredTotal;
    readonly descriptors?: ReadonlyMap<string, MetricDescriptor>;
    readonly restored?: Restored;
    readonly epoch?: string;
  }
  | { readonly status: "retired"; readonly folded: Map<string, string> }
  | { readonly status: "lost"; readonly lost: "record" | "series" | "descriptors" | "retired" };

/** One process as stored. */
export interface ProcessRecord {
  /** The process identity. */
  readonly id: string;
  /** Time of its latest publish, in milliseconds since the epoch. */
  readonly heartbeat: number;
  /** Whether its last publish said it was shutting down. */
  readonly exited: boolean;
  /** Its series, absolute values. Read-only: a backend may share it with its own cache. */
  readonly series: ReadonlyMap<string, string>;
}

/**
 * Everything a collector needs for one scrape: a snapshot, which later publishes and retirements
 * do not change.
 */
export interface StoredState {
  /** Metric descriptors by metric name. */
  readonly descriptors: ReadonlyMap<string, MetricDescriptor>;
  /** Every process not yet retired. */
  readonly processes: readonly ProcessRecord[];
  /** Counters, histograms and summaries of retired processes, summed. */
  readonly retired: ReadonlyMap<string, string>;
  /** Changes each time a retirement is committed; the compare-and-set token of `retire`. */
  readonly retiredVersion: number;
  /**
   * A second copy of the retired total, where the backend keeps one: a series whose value in
   * `retired` cannot be read is taken from here, so that losing one copy loses no count.
   */
  readonly retiredCopy?: ReadonlyMap<string, string>;
  /** Stored records the backend could not read now (skipped and kept for repair, not fatal). */
  readonly corrupt: number;
  /** Entries that are not the backend's own records (a directory or FIFO named like a log): skipped. */
  readonly strays?: number;
  /** Damaged data the backend moved aside, kept for inspection until someone removes it. */
  readonly setAside?: number;
  /** What is damaged, in words that say what to fix (the first few; for the log). */
  readonly problems?: readonly string[];
}

/** A retirement a collector asks for. */
export interface Retirement {
  /** The `retiredVersion` the collector read; the retirement fails if it changed. */
  readonly expectedVersion: number;
  /** The processes to retire, each with the heartbeat the collector read; fails if one moved. */
  readonly processes: ReadonlyArray<{ readonly id: string; readonly heartbeat: number }>;
  /** New absolute values of the retired-total series these processes change. */
  readonly retiredUpdates: ReadonlyMap<string, string>;
}

/** What an entry point's runtime gives a backend: the one selection rule refuses what it lacks. */
export interface StoragePlace {
  /** The entry, for messages (`Workers`, `Node`...). */
  readonly name: string;
  /** Files can be read and written. */
  readonly fileSystem: boolean;
  /** TCP connections can be held across requests. */
  readonly tcp: boolean;
  /** What to use instead, for messages (`share counts through Upstash...`). */
  readonly instead: string;
  /** On Workers: the binding of that name (a Durable Object namespace...), or undefined. */
  readonly binding?: (name: string) => unknown;
  /** How long a silent process lives before it is retired, in ms, for a backend that retires by itself. */
  readonly deadAfterMs?: number;
  /** The modules of the backends this runtime can run that need it (files, TCP), by kind, loaded at first use. */
  readonly load?: Readonly<Record<string, () => Promise<unknown>>>;
}

/**
 * One backend as the selection rule sees it (unstorage's `defineDriver` is the model): which
 * setting selects it, what it needs of the runtime, what it offers, and how it is built from its
 * options over the environment. A new backend is one such module and one line in the table of
 * `storage/drivers.ts`.
 */
export interface StorageDriver<Options> {
  /** The backend's kind, as `Storage.kind`. */
  readonly kind: string;
  /** What it needs of the runtime. */
  readonly needs: { readonly fileSystem: boolean; readonly tcp: boolean };
  /** Who can share it: one process, the processes of one host, or many hosts and isolates (the widest wins). */
  readonly offers: { readonly sharedBy: "process" | "host" | "hosts" };
  /** The option or variable that selects it in `options` and `env`, or undefined when none does. */
  selectedBy(env: EnvSource, options: Options, place?: StoragePlace): string | undefined;
  /** Builds it from `options` over `env`; a setting that cannot work is a ConfigError that names it. */
  fromEnv(env: EnvSource, options: Options, place?: StoragePlace): Storage;
}

/** A metrics storage backend. */
export interface Storage {
  /** The backend's kind, used in messages: `memory`, `filesystem`, `upstash`. */
  readonly kind: string;
  /** After this long without a publish, a process's data expires from the backend, in ms (Upstash TTL). */
  readonly expiresAfterMs?: number;
  /** Where the backend keeps its data, without credentials (a URL's scheme, host and port; a directory), for messages. */
  readonly address?: string;
  /** How long one call may take before it fails, in ms: a scrape without a deadline of its own waits this long. */
  readonly timeoutMs?: number;
  /** Applies one publish atomically, in one round trip. */
  publish(update: ProcessUpdate): Promise<PublishOutcome>;
  /** Reads the whole state, in a constant number of round trips. */
  read(): Promise<StoredState>;
  /**
   * Optional: a publish and then a read, in one round trip (a scrape's own publish and its read).
   * No `state` when the publish found this process retired.
   */
  publishAndRead?(update: ProcessUpdate): Promise<{ outcome: PublishOutcome; state?: StoredState }>;
  /**
   * Atomically: when the retired version and every listed heartbeat are as expected, writes the
   * retired-total updates, keeps each process's data aside as a tombstone (so a process retired by
   * mistake learns what was folded) and removes the processes. Returns whether it committed.
   */
  retire(retirement: Retirement): Promise<boolean>;
  /** Releases connections and handles. */
  close(): Promise<void>;
}
