/**
 * The storage contract, tested once for every backend (as unstorage's `testDriver`). A backend's
 * test file calls `testStorage` with a factory and its capabilities, and adds only what is special
 * to it. A rule that needs a capability runs on every backend that has it, and is skipped, with the
 * backend's reason printed, where the backend lacks it.
 *
 * The rules, by file: the publish/read/retire contract and tombstones (`conformance/contract.ts`),
 * storage that loses everything (`conformance/loss.ts`), retirement by real collectors and the two
 * copies of the retired total (`conformance/retirement.ts`), damaged and stray entries
 * (`conformance/damage.ts`), and round trips (`conformance/cost.ts`).
 */
import { describe, test } from "node:test";
import type { Storage } from "../../src/core/storage.ts";
import { TestClock } from "../support/clock.ts";
import { contractRules } from "./conformance/contract.ts";
import { costRules } from "./conformance/cost.ts";
import { damageRules } from "./conformance/damage.ts";
import { lossRules } from "./conformance/loss.ts";
import { retirementRules } from "./conformance/retirement.ts";

/** What a factory is given: the clock the backend must use, and how long its tombstones last. */
export interface FactoryOptions {
  readonly clock: () => number;
  readonly tombstoneTtlMs: number;
}

/** Makes a fresh, empty storage (its own directory or key prefix). */
export type StorageFactory = (options: FactoryOptions) => Promise<Storage> | Storage;

/** A capability the backend has (the function), or why it lacks it (printed as the skip reason). */
export type Capability<F> = F | { readonly lacks: string };

/** Which copy of the retired total to damage (the backend says which is which), and how. */
export type CopyDamage = { readonly copy: 0 | 1; readonly how: "garble" | "lose" };

/** What differs between backends, so that each rule asks the right thing of each. */
export interface StorageCapabilities {
  /**
   * What expires a tombstone: the clock the backend was given (memory, filesystem: tested by
   * advancing it), or the server's own clock (Redis: tested in real time, polling).
   */
  readonly tombstoneClock: "given" | "server";
  /** The backend implements `publishAndRead` (a publish and a read in one round trip). */
  readonly publishAndRead: boolean;
  /**
   * A publish's answer carries the retired total when its version changed (memory, Redis); on the
   * filesystem the process that serves scrapes keeps it from its reads instead.
   */
  readonly retiredInAnswers: boolean;
  /** Makes the backend lose everything it holds, as a restart without persistence or a flush does. */
  readonly loseEverything: (storage: Storage) => Promise<void>;
  /**
   * Counts the round trips this backend's server has answered so far (scripts run, REST requests),
   * so that a rule can say what a publish, a read or a scrape costs.
   */
  readonly roundTrips: Capability<() => Promise<number>>;
  /**
   * Damages one copy of the retired total: garbles it (`series`' value, or the whole copy where a
   * copy is one record) or loses it (the file or key gone).
   */
  readonly damageRetiredCopy: Capability<(storage: Storage, damage: CopyDamage, series: string) => Promise<void>>;
  /**
   * Damages the record of process `id` (published or not) so that it no longer reads; resolves with
   * a function that removes the damaged record entirely, as an operator who fixes it would.
   */
  readonly damageRecord: Capability<(storage: Storage, id: string) => Promise<() => Promise<void>>>;
  /** Puts an entry that is not the backend's own where the backend reads; resolves with its name. */
  readonly addStray: Capability<(storage: Storage) => Promise<string>>;
}

/** What every rule file is given. */
export interface Suite {
  readonly capabilities: StorageCapabilities;
  /** The clock every storage of this suite was given; `fresh` sets it back to 1_000_000. */
  readonly clock: TestClock;
  /** A fresh, empty storage with short tombstones (`TOMBSTONE_TTL_MS`), for rules at the interface. */
  fresh(): Promise<Storage>;
  /**
   * A fresh storage for simulated processes and collectors: the clock set to now (real heartbeats),
   * tombstones that outlive the test, so that only a retirement ever decides what is counted.
   */
  forProcesses(): Promise<Storage>;
}

/** How long the tombstones of `fresh` storage last, in ms. */
export const TOMBSTONE_TTL_MS = 300;
const DAY_MS = 86_400_000;

/** Why a rule cannot run on this backend: the reason of the first capability it lacks, else false. */
export function needs(...capabilities: Capability<unknown>[]): string | false {
  for (const c of capabilities) if (typeof c !== "function") return (c as { lacks: string }).lacks;
  return false;
}

// Node prints a skipped test's reason; Bun and Deno print only its name.
const printsSkipReasons = !("Bun" in globalThis) && !("Deno" in globalThis);

/** A test that is skipped, its reason printed on every runtime, when `lacks` says why it cannot run. */
export function rule(name: string, lacks: string | false, fn: () => Promise<void>): void {
  test(lacks === false || printsSkipReasons ? name : `${name} (skipped: ${lacks})`, { skip: lacks }, fn);
}

/** The capability's function; only called inside a rule that `needs` it. */
export function use<F>(capability: Capability<F>): F {
  if (typeof capability !== "function") {
    throw new Error(`a rule ran without its capability: ${(capability as { lacks: string }).lacks}`);
  }
  return capability as F;
}

/** Runs the storage conformance suite against the backend `factory` makes. */
export function testStorage(name: string, factory: StorageFactory, capabilities: StorageCapabilities): void {
  describe(`${name} storage conformance`, () => {
    const clock = new TestClock(1_000_000);
    const suite: Suite = {
      capabilities,
      clock,
      fresh: async () => {
        clock.ms = 1_000_000;
        return await factory({ clock: clock.now, tombstoneTtlMs: TOMBSTONE_TTL_MS });
      },
      forProcesses: async () => {
        clock.ms = Date.now();
        return await factory({ clock: clock.now, tombstoneTtlMs: DAY_MS });
      },
    };
    contractRules(suite);
    lossRules(suite);
    retirementRules(suite);
    damageRules(suite);
    costRules(suite);
  });
}
