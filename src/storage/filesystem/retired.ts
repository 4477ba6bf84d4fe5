/**
 * Dead processes' totals on the filesystem, kept in two copies (`retired-a.json`, `retired-b.json`),
 * each one sealed line, each replaced by rename and written one after the other. Any one of them
 * may be lost, truncated or garbled without losing a count: readers take the newest copy that
 * reads. A copy that does not read is never overwritten: the next retirement moves it aside
 * (`*.bad`, kept for inspection) before writing fresh copies.
 * @module
 */
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "../../core/errors.ts";
import type { MetricDescriptor } from "../../core/storage.ts";
import { openLine, RETIRED_COPIES, sealLine } from "./format.ts";

/** The retired total, its version and the ids it has folded. */
export interface RetiredFile {
  version: number;
  ids: string[];
  descriptors: Record<string, MetricDescriptor>;
  series: Record<string, string>;
}

/** What reading the copies found. */
export interface RetiredRead {
  /** The newest copy that reads (empty, version 0, when there is none yet). */
  readonly file: RetiredFile;
  /** Copies that exist but do not read. */
  readonly damaged: readonly string[];
}

const EMPTY: RetiredFile = { version: 0, ids: [], descriptors: {}, series: {} };

/**
 * Reads both copies. Throws when copies exist but none reads: serving without the retired total
 * would show every counter going backwards, so the scrape answers 503 until one is restored.
 */
export async function readRetired(directory: string): Promise<RetiredRead> {
  let best: RetiredFile | undefined;
  const damaged: string[] = [];
  for (const name of RETIRED_COPIES) {
    let text: string;
    try {
      text = await fs.readFile(join(directory, name), "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") continue;
      throw new StorageError("filesystem", `cannot read ${join(directory, name)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const file = text.endsWith("\n") ? openLine(text.slice(0, -1)) as RetiredFile | undefined : undefined;
    if (!isRetiredFile(file)) {
      damaged.push(name);
      continue;
    }
    if (best === undefined || file.version > best.version) best = file;
  }
  if (best === undefined && damaged.length > 0) {
    throw new StorageError(
      "filesystem",
      `the retired totals cannot be read (${damaged.map((n) => join(directory, n)).join(", ")}: checksum or ` +
        `format damaged); restore one copy from a backup, or delete both to start the retired totals from 0. ` +
        `Scrapes answer 503 until then, so that no counter goes backwards`,
    );
  }
  return { file: best ?? EMPTY, damaged };
}

/**
 * Commits `file`: damaged copies are moved aside (never overwritten), then both copies are
 * replaced one after the other, so that one of them always holds a whole total.
 */
export async function writeRetired(
  directory: string,
  file: RetiredFile,
  damaged: readonly string[],
  stamp: number,
  writeAtomically: (path: string, text: string) => Promise<void>,
): Promise<void> {
  for (const name of damaged) {
    await fs.rename(join(directory, name), join(directory, `${name}.${stamp}.bad`)).catch(() => {});
  }
  const text = sealLine(file);
  for (const name of RETIRED_COPIES) await writeAtomically(join(directory, name), text);
}

function isRetiredFile(file: unknown): file is RetiredFile {
  const f = file as RetiredFile | undefined;
  return typeof f === "object" && f !== null && typeof f.version === "number" && Array.isArray(f.ids) &&
    typeof f.series === "object" && f.series !== null && typeof f.descriptors === "object" && f.descriptors !== null;
}
