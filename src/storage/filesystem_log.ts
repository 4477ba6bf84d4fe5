/**
 * The filesystem backend's record format: one JSON object per line, sealed with a checksum, so
 * that a reader tells a damaged record (garbage, a truncation spliced with a later append, a
 * flipped byte) from a good one, skips it, and asks for a repair instead of trusting it.
 * @module
 */
import { Buffer } from "node:buffer";
import type { MetricDescriptor, ProcessRecord, SeriesMap } from "../core/storage.ts";

/** One publish as written to a process log. */
export interface LogLine {
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
