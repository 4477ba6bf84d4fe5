/**
 * The metrics Durable Object's SQLite tables, and the journal that keeps them equal to the state in
 * the object's memory. Series are stored one row per process and metric family (the JSON of that
 * family's series), so a publish writes its process's row and one row per family that changed; the
 * retired total is kept twice (copies 0 and 1), so that a row that no longer reads in one copy is
 * read from the other. Tables are WITHOUT ROWID: a row written is one row, with no index beside it.
 * A row that does not read is skipped, counted and named, and left in place for inspection.
 * @module
 */
import { splitSeriesKey } from "../../core/codec/series_key.ts";
import type { MetricDescriptor, ProcessRecord } from "../../core/storage.ts";
import type { MemoryJournal, MemorySnapshot } from "../memory/storage.ts";

/** The part of the Durable Object SQL API this backend uses (`ctx.storage.sql`). */
export interface SqlStorageLike {
  /** Runs one statement with its bound values. */
  exec(
    query: string,
    ...bindings: unknown[]
  ): { toArray(): Array<Record<string, unknown>>; readonly rowsWritten?: number };
}

const SCHEMA = [
  "CREATE TABLE IF NOT EXISTS processes (id TEXT PRIMARY KEY, heartbeat REAL NOT NULL, exited INTEGER NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS series (id TEXT NOT NULL, family TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id, family)) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS descriptors (name TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS retired (copy INTEGER NOT NULL, family TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (copy, family)) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS tombstones (id TEXT NOT NULL, family TEXT NOT NULL, expires REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id, family)) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
];

/** The metric family of a series key: its name, before the labels. */
const familyOf = (key: string): string => splitSeriesKey(key)[0];

/** SQLite's limit on a row is 2 MB; a family's series must fit in one, with room for the rest of the row. */
const MAX_BODY = 1_900_000;

/**
 * The entries of `series` in each of `families` (all of them when undefined), as one JSON body
 * per family. A body over the row limit is an error that names the family and what to do.
 */
function bodies(series: ReadonlyMap<string, string>, families?: ReadonlySet<string>): Map<string, string> {
  const grouped = new Map<string, Array<[string, string]>>();
  for (const family of families ?? []) grouped.set(family, []);
  for (const entry of series) {
    const family = familyOf(entry[0]);
    let group = grouped.get(family);
    if (group === undefined && families === undefined) grouped.set(family, group = []);
    group?.push(entry);
  }
  const out = new Map<string, string>();
  for (const [family, entries] of grouped) {
    const body = JSON.stringify(entries);
    if (body.length > MAX_BODY) {
      throw new Error(
        `the series of ${family} take ${body.length} bytes, over the ${MAX_BODY} a SQLite row of a Durable Object ` +
          "holds: bound its labels (seriesLimit, customLabelLimit)",
      );
    }
    out.set(family, body);
  }
  return out;
}

/** Creates the tables where they are missing. */
export function createTables(sql: SqlStorageLike): void {
  for (const statement of SCHEMA) sql.exec(statement);
}

/** Keeps the tables equal to the memory state, change by change. */
export class SqlJournal implements MemoryJournal {
  readonly #sql: SqlStorageLike;
  /** Rows written since this journal was made, as SQLite counts them (what Cloudflare bills). */
  rowsWritten = 0;

  /** @param sql The object's SQL storage, its tables created. */
  constructor(sql: SqlStorageLike) {
    this.#sql = {
      exec: (query, ...bindings) => {
        const cursor = sql.exec(query, ...bindings);
        this.rowsWritten += cursor.rowsWritten ?? 0;
        return cursor;
      },
    };
  }

  process(id: string, record: ProcessRecord, changed: Iterable<string>, replaced: boolean): void {
    const sql = this.#sql;
    sql.exec(
      "INSERT INTO processes (id, heartbeat, exited) VALUES (?, ?, ?) " +
        "ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat, exited = excluded.exited",
      id,
      record.heartbeat,
      record.exited ? 1 : 0,
    );
    if (replaced) sql.exec("DELETE FROM series WHERE id = ?", id);
    const families = new Set<string>();
    for (const key of replaced ? record.series.keys() : changed) families.add(familyOf(key));
    for (const [family, body] of bodies(record.series, families)) {
      sql.exec("INSERT OR REPLACE INTO series (id, family, body) VALUES (?, ?, ?)", id, family, body);
    }
  }

  removeProcess(id: string): void {
    this.#sql.exec("DELETE FROM processes WHERE id = ?", id);
    this.#sql.exec("DELETE FROM series WHERE id = ?", id);
  }

  descriptor(name: string, descriptor: MetricDescriptor): void {
    this.#sql.exec("INSERT OR REPLACE INTO descriptors (name, body) VALUES (?, ?)", name, JSON.stringify(descriptor));
  }

  retired(series: ReadonlyMap<string, string>, version: number, changed: Iterable<string>): void {
    const families = new Set<string>();
    for (const key of changed) families.add(familyOf(key));
    for (const [family, body] of bodies(series, families)) {
      for (const copy of [0, 1]) {
        this.#sql.exec("INSERT OR REPLACE INTO retired (copy, family, body) VALUES (?, ?, ?)", copy, family, body);
      }
    }
    this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", String(version));
  }

  tombstone(id: string, folded: ReadonlyMap<string, string> | undefined, expires: number): void {
    this.#sql.exec("DELETE FROM tombstones WHERE id = ?", id);
    if (folded === undefined) return;
    // A process with no series still leaves its tombstone: one row with no family.
    const families = folded.size === 0 ? new Map([["", "[]"]]) : bodies(folded);
    for (const [family, body] of families) {
      this.#sql.exec(
        "INSERT INTO tombstones (id, family, expires, body) VALUES (?, ?, ?, ?)",
        id,
        family,
        expires,
        body,
      );
    }
  }

  clear(): void {
    for (const table of ["processes", "series", "descriptors", "retired", "tombstones", "meta"]) {
      this.#sql.exec(`DELETE FROM ${table}`);
    }
  }
}

/** What the tables hold, and what of it did not read. */
export interface Loaded {
  readonly snapshot: MemorySnapshot;
  /** Processes with a row that did not read: loaded with the rows that did. */
  readonly partial: string[];
  /** Keys of the retired total whose family read in one copy only: to be written to both again. */
  readonly repair: string[];
  /** Families of the retired total that read in neither copy: no retirement may fold over them. */
  readonly unreadableRetired: number;
  /** Rows that did not read (skipped, kept in place). */
  readonly corrupt: number;
  /** What did not read, in words that say what to fix (the first few). */
  readonly problems: string[];
}

function entries(body: unknown): Array<[string, string]> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(body));
  } catch {
    return undefined;
  }
  const fits = Array.isArray(parsed) &&
    parsed.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && typeof e[1] === "string");
  return fits ? parsed as Array<[string, string]> : undefined;
}

/** Reads the whole state from the tables; a row that does not read is skipped and counted. */
export function loadTables(sql: SqlStorageLike): Loaded {
  const problems: string[] = [];
  let corrupt = 0;
  const damaged = (what: string) => {
    corrupt++;
    if (problems.length < 5) problems.push(`${what} does not read; it is skipped and kept in the object's SQLite`);
  };
  const series = new Map<string, Map<string, string>>();
  // A process with a row that does not read is loaded with the rows that do (a dead one is folded
  // with what reads); the object answers its next publish `lost`, so that a live one replaces it.
  const partial = new Set<string>();
  for (const row of sql.exec("SELECT id, family, body FROM series").toArray()) {
    const read = entries(row.body);
    if (read === undefined) {
      damaged(`the series of ${String(row.family)} of process ${String(row.id)}`);
      partial.add(String(row.id));
      continue;
    }
    const map = series.get(String(row.id)) ?? new Map<string, string>();
    for (const [key, value] of read) map.set(key, value);
    series.set(String(row.id), map);
  }
  // One with no row that reads is skipped: it has nothing to count.
  const rows = sql.exec("SELECT id, heartbeat, exited FROM processes").toArray().filter((row) =>
    !partial.has(String(row.id)) || series.has(String(row.id))
  );
  const processes: ProcessRecord[] = rows.map((row) => ({
    id: String(row.id),
    heartbeat: Number(row.heartbeat),
    exited: Number(row.exited) === 1,
    series: series.get(String(row.id)) ?? new Map(),
  }));
  const descriptors = new Map<string, MetricDescriptor>();
  for (const row of sql.exec("SELECT name, body FROM descriptors").toArray()) {
    try {
      const d = JSON.parse(String(row.body)) as MetricDescriptor;
      if (typeof d?.type !== "string") throw new Error("no type");
      descriptors.set(String(row.name), d);
    } catch {
      damaged(`the descriptor of ${String(row.name)}`);
    }
  }
  // The retired total, family by family, from copy 0 where it reads, else from copy 1.
  const copies = new Map<string, Array<Array<[string, string]> | undefined>>();
  for (const row of sql.exec("SELECT copy, family, body FROM retired").toArray()) {
    const both = copies.get(String(row.family)) ?? [undefined, undefined];
    both[Number(row.copy) === 1 ? 1 : 0] = entries(row.body);
    copies.set(String(row.family), both);
  }
  const retired = new Map<string, string>();
  const repair: string[] = [];
  let unreadableRetired = 0;
  for (const [family, [first, second]] of copies) {
    const read = first ?? second;
    if (read === undefined) {
      damaged(`the retired total of ${family}, in both copies`);
      unreadableRetired++;
      continue;
    }
    for (const [key, value] of read) retired.set(key, value);
    if (first === undefined || second === undefined) repair.push(...read.map(([key]) => key));
  }
  const version = Number(sql.exec("SELECT value FROM meta WHERE key = 'version'").toArray()[0]?.value ?? 0);
  const tombstones = new Map<string, { id: string; folded: Map<string, string>; expires: number }>();
  for (const row of sql.exec("SELECT id, expires, body FROM tombstones").toArray()) {
    const id = String(row.id);
    const tomb = tombstones.get(id) ?? { id, folded: new Map<string, string>(), expires: Number(row.expires) };
    tombstones.set(id, tomb);
    const read = entries(row.body);
    // What of it reads is still said to the process when it publishes again.
    if (read === undefined) damaged(`the tombstone of process ${id}`);
    else for (const [key, value] of read) tomb.folded.set(key, value);
  }
  return {
    snapshot: { processes, descriptors, retired, version, tombstones: [...tombstones.values()] },
    corrupt,
    problems,
    partial: [...partial],
    repair,
    unreadableRetired,
  };
}
