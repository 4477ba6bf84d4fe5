/**
 * The filesystem backend's record format: one JSON object per line, sealed with a checksum, so
 * that a reader tells a damaged record (garbage, a truncation spliced with a later append, a
 * flipped byte) from a good one, skips it, and asks for a repair instead of trusting it.
 *
 * Layout, all files 0600 in a 0700 directory; every record is a line sealed with a checksum:
 * - `p-<id>.log`: one process's publishes, one line each, appended with one write. Readers use
 *   complete lines that pass their checksum, so no reader sees a torn or damaged publish. The
 *   owner compacts it into one full line (written aside, then renamed over) once it grows past a
 *   few times its compacted size, and at once when its log was damaged (`r-<id>.repair`).
 * - `retired-a.json`, `retired-b.json`: two copies of the retired total (see `retired.ts`).
 * - `c-<id>.log`: a log claimed for retirement (renamed from `p-`); counted by readers until the
 *   retired total that folds it is committed, then removed.
 * - `t-<id>.json`: what was folded for a retired id, so a process retired by mistake learns it.
 * - `retire.lock/`: held (mkdir is atomic) while a collector retires or a process compacts.
 * - `*.bad`: damaged data moved aside, never deleted by the library: reported until removed.
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { StorageError } from "../../core/errors.ts";
import type { MetricDescriptor, ProcessRecord, SeriesMap } from "../../core/storage.ts";
import { LOCK_NAME } from "./lock.ts";

/** The names of the two copies of the retired total. */
export const RETIRED_COPIES: readonly string[] = ["retired-a.json", "retired-b.json"];

const ID_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

/** `p-<id>.log` (a process's log), `c-<id>.log` (claimed for retirement), `t-<id>.json` (tombstone). */
export function entryPath(directory: string, prefix: "p" | "c" | "t", id: string, suffix: string): string {
  return join(directory, `${prefix}-${id}${suffix}`);
}

/** `r-<id>.repair`: a reader found the log of `id` damaged and asks its owner to rewrite it. */
export function repairPath(directory: string, id: string): string {
  return join(directory, `r-${id}.repair`);
}

/** `id`, when it can name a file; else a StorageError. */
export function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) throw new StorageError("filesystem", `process id ${JSON.stringify(id)} cannot name a file`);
  return id;
}

/** What a directory entry is to this backend, by its name. */
export function classify(name: string): "log" | "ours" | "bad" | "other" {
  if (name.endsWith(".bad")) return "bad";
  if ((name.startsWith("p-") || name.startsWith("c-")) && name.endsWith(".log")) return "log";
  if (RETIRED_COPIES.includes(name) || name === LOCK_NAME || name === "slots" || name.includes(".tmp-")) {
    return "ours";
  }
  if (name.startsWith("t-") && name.endsWith(".json")) return "ours";
  if (name.startsWith("r-") && name.endsWith(".repair")) return "ours";
  return "other";
}

/** One publish as written to a process log. */
export interface LogLine {
  /** Set on a log another process put back after a loss (see `restore.ts`). */
  r?: 1;
  /** Heartbeat. */
  h: number;
  /** Set on the last publish of an exiting process. */
  x?: 1;
  /** Descriptors new since the previous line. */
  d?: Record<string, MetricDescriptor>;
  /** Changed series, absolute values. */
  s: Record<string, string>;
}

/** FNV-1a (32 bits) over the UTF-16 code units of `text`: cheap, and enough to catch damage. */
function checksum(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** Serialises `value` as one sealed line: its JSON, a tab, the checksum of the JSON, a newline. */
export function sealLine(value: unknown): string {
  const json = JSON.stringify(value);
  return `${json}\t${checksum(json)}\n`;
}

/** The value of one sealed line (without its newline), or undefined when it is damaged. */
export function openLine(raw: string): unknown {
  const tab = raw.length - 9;
  if (tab < 1 || raw.charCodeAt(tab) !== 9) return undefined; // JSON escapes tabs: this one is the seal's
  const json = raw.slice(0, tab);
  if (checksum(json) !== raw.slice(tab + 1)) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** A log replayed up to `offset`: later lines override earlier ones. */
export class LogState {
  series: SeriesMap = new Map();
  descriptors: Map<string, MetricDescriptor> = new Map();
  heartbeat: number | undefined;
  exited = false;
  /** Bytes consumed: up to the end of the last complete line. */
  offset = 0;
  /** Complete lines that failed their checksum or their shape, so far. */
  corrupt = 0;
  /** The file shrank under this state without being replaced (truncated in place). */
  truncated = false;
  /** A reader holds `series`: copy before applying more lines. */
  lent = false;
  /** The first bytes of the file, as first read: a reused inode with other bytes is another log. */
  head: Buffer | undefined;

  /** Applies the complete lines of `text` (the bytes after `offset`); a torn last line waits. */
  apply(text: string): void {
    const end = text.lastIndexOf("\n");
    if (end === -1) return;
    if (this.lent) {
      this.series = new Map(this.series);
      this.lent = false;
    }
    for (const raw of text.slice(0, end).split("\n")) {
      if (raw === "") continue;
      const line = openLine(raw) as LogLine | undefined;
      if (
        line === undefined || typeof line !== "object" || line === null || typeof line.h !== "number" ||
        typeof line.s !== "object" || line.s === null
      ) {
        this.corrupt++;
        continue;
      }
      this.heartbeat = line.h;
      this.exited = line.x === 1;
      if (line.d !== undefined) { for (const name in line.d) this.descriptors.set(name, line.d[name]); }
      for (const key in line.s) {
        const value = line.s[key];
        if (typeof value === "string") this.series.set(key, value);
      }
    }
    this.offset += Buffer.byteLength(text.slice(0, end + 1));
  }

  /** Whether the log holds damage its owner should repair by rewriting its full state. */
  get damaged(): boolean {
    return this.corrupt > 0 || this.truncated;
  }

  /** The record so far, or undefined before the first complete line. */
  record(): Omit<ProcessRecord, "id"> | undefined {
    if (this.heartbeat === undefined) return undefined;
    this.lent = true;
    return { heartbeat: this.heartbeat, exited: this.exited, series: this.series };
  }
}

/** Replays a whole log. */
export function parseLog(text: string): LogState {
  const state = new LogState();
  state.apply(text);
  return state;
}
