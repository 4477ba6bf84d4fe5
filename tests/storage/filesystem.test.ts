/**
 * The filesystem backend: the shared storage suite on a fresh directory per test, and what only a
 * directory of logs has: file modes, damaged and torn lines, the bytes a publish appends,
 * compaction, incremental reads, and the retired total's copies set aside when damaged.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Storage } from "../../src/core/storage.ts";
import { FilesystemStorage } from "../../src/storage/filesystem/storage.ts";
import { sealLine } from "../../src/storage/filesystem/format.ts";
import { testStorage } from "./conformance.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hpe-fs-"));
  dirs.push(dir);
  return join(dir, "metrics");
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const directory = (s: Storage) => (s as FilesystemStorage).directory;

testStorage(
  "filesystem",
  (options) => new FilesystemStorage({ directory: tempDir(), ...options }),
  {
    tombstoneClock: "given",
    publishAndRead: false,
    retiredInAnswers: false,
    loseEverything: (s) => Promise.resolve(rmSync(directory(s), { recursive: true, force: true })),
    roundTrips: { lacks: "a filesystem call is a few system calls on local files, not a round trip to a server" },
    // A copy is one sealed line: garbled whole, or its file gone.
    damageRetiredCopy: (s, { copy, how }) => {
      const path = join(directory(s), ["retired-a.json", "retired-b.json"][copy]);
      statSync(path); // there to damage: throws when it is not
      return Promise.resolve(how === "garble" ? writeFileSync(path, "garbage\n") : rmSync(path));
    },
    damageRecord: (s, id) => {
      writeFileSync(join(directory(s), `p-${id}.log`), "\u0000\u0001garbage\n");
      return Promise.resolve(() => {
        rmSync(join(directory(s), `p-${id}.log`));
        rmSync(join(directory(s), `r-${id}.repair`), { force: true });
        return Promise.resolve();
      });
    },
    addStray: (s) => {
      writeFileSync(join(directory(s), "notes.txt"), "hello");
      return Promise.resolve("notes.txt");
    },
  },
);

const descriptors = new Map([["c_total", { type: "counter" as const, help: "c" }]]);

describe("filesystem storage", () => {
  test("creates the directory 0700 and its files 0600", async () => {
    const dir = tempDir();
    const s = new FilesystemStorage({ directory: dir });
    await s.publish({ processId: "a", heartbeat: 1, exited: false, descriptors, series: new Map([["c_total", "1"]]) });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const name of readdirSync(dir)) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
  });

  test("a damaged line and a torn last line are skipped and reported, never fatal; the owner is asked to repair", async () => {
    const dir = tempDir();
    const s = new FilesystemStorage({ directory: dir });
    await s.publish({ processId: "a", heartbeat: 1, exited: false, descriptors, series: new Map([["c_total", "2"]]) });
    const flipped = sealLine({ h: 9, s: { c_total: "1" } }).replace('"1"', '"9"'); // checksum no longer matches
    writeFileSync(
      join(dir, "p-b.log"),
      sealLine({ h: 1, s: { c_total: "3" } }) + "not json\n" + flipped + sealLine({ h: 2, s: { c_total: "4" } }) +
        sealLine({ h: 3, s: { c_total: "5" } }).slice(0, 12),
    );
    const state = await s.read();
    const b = state.processes.find((p) => p.id === "b");
    assert.equal(b?.series.get("c_total"), "4", "the torn last line is not applied, nor the one with a bad checksum");
    assert.equal(b?.heartbeat, 2);
    assert.equal(state.corrupt, 2, "the garbage line and the line whose checksum fails");
    assert.equal(state.strays, 0);
    assert.equal(state.processes.find((p) => p.id === "a")?.series.get("c_total"), "2");
    assert.ok(readdirSync(dir).includes("r-b.repair"), "the owner of the damaged log is asked to rewrite it");
    assert.equal((await s.read()).corrupt, 2, "the same damage is reported again, not accumulated");
  });

  test("a publish writes O(changed series) bytes, and the log is compacted as it grows", async () => {
    const dir = tempDir();
    const s = new FilesystemStorage({ directory: dir });
    const many = new Map(Array.from({ length: 3000 }, (_, i) => [`c_total{r="${i}"}`, "1"]));
    await s.publish({ processId: "a", heartbeat: 1, exited: false, descriptors, series: many });
    const full = statSync(join(dir, "p-a.log")).size;
    await s.publish({
      processId: "a",
      heartbeat: 2,
      exited: false,
      descriptors: new Map(),
      series: new Map([['c_total{r="7"}', "2"]]),
    });
    const grown = statSync(join(dir, "p-a.log")).size - full;
    assert.ok(grown < 100, `one changed series appended ${grown} bytes`);
    for (let h = 3; h < 3000; h++) {
      await s.publish({
        processId: "a",
        heartbeat: h,
        exited: false,
        descriptors: new Map(),
        series: new Map([['c_total{r="7"}', String(h)]]),
      });
    }
    assert.ok(statSync(join(dir, "p-a.log")).size < 4 * full + 64 * 1024, "compacted");
    const [p] = (await s.read()).processes;
    assert.equal(p.series.get('c_total{r="7"}'), "2999");
    assert.equal(p.series.size, 3000);
  });

  test("a damaged copy of the retired total is counted, set aside by the next retirement; both damaged refuse the read", async () => {
    const dir = tempDir();
    const s = new FilesystemStorage({ directory: dir });
    const publish = (id: string, value: string) =>
      s.publish({ processId: id, heartbeat: 1, exited: false, descriptors, series: new Map([["c_total", value]]) });
    const retire = async (id: string, value: string) => {
      const state = await s.read();
      assert.ok(
        await s.retire({
          expectedVersion: state.retiredVersion,
          processes: [{ id, heartbeat: 1 }],
          retiredUpdates: new Map([["c_total", value]]),
        }),
      );
    };
    await publish("a", "5");
    await retire("a", "5");
    await publish("b", "3");
    writeFileSync(join(dir, "retired-a.json"), "garbage\n");
    let state = await s.read();
    assert.equal(state.retired.get("c_total"), "5", "the other copy is read");
    assert.equal(state.corrupt, 1);
    await retire("b", "8");
    state = await s.read();
    assert.equal(state.retired.get("c_total"), "8");
    assert.equal(state.corrupt, 0);
    assert.equal(state.setAside, 1, "the damaged copy is kept as a .bad file");
    const bad = readdirSync(dir).find((n) => n.startsWith("retired-a.json.") && n.endsWith(".bad"));
    assert.equal(bad && readFileSync(join(dir, bad), "utf8"), "garbage\n");
    truncateSync(join(dir, "retired-b.json"), 20);
    assert.equal((await s.read()).retired.get("c_total"), "8", "either copy suffices");
    writeFileSync(
      join(dir, "retired-a.json"),
      sealLine({ version: 9, ids: [], descriptors: {}, series: {} }).replace("9", "8"),
    );
    await assert.rejects(s.read(), /retired-a\.json, .*retired-b\.json.*restore one copy/);
  });

  test("scrapes read only what was appended, and snapshots already returned do not change", async () => {
    const dir = tempDir();
    const writer = new FilesystemStorage({ directory: dir });
    const reader = new FilesystemStorage({ directory: dir });
    const publish = (h: number, value: string) =>
      writer.publish({
        processId: "a",
        heartbeat: h,
        exited: false,
        descriptors,
        series: new Map([["c_total", value]]),
      });
    await publish(1, "1");
    const first = await reader.read();
    await publish(2, "2");
    const second = await reader.read();
    assert.equal(first.processes[0].series.get("c_total"), "1", "the first snapshot is unchanged");
    assert.equal(second.processes[0].series.get("c_total"), "2");
    assert.equal(second.processes[0].heartbeat, 2);
    // Enough publishes to compact (a new file): the reader notices and reads it whole.
    const wide = new Map(Array.from({ length: 2000 }, (_, i) => [`c_total{i="${i}"}`, "1"]));
    await writer.publish({ processId: "a", heartbeat: 3, exited: false, descriptors, series: wide });
    const inode = statSync(join(dir, "p-a.log")).ino;
    await reader.read();
    for (let h = 4; h < 1000; h++) await publish(h, String(h));
    assert.notEqual(statSync(join(dir, "p-a.log")).ino, inode, "the log was compacted into a new file");
    const third = await reader.read();
    assert.equal(third.processes[0].series.get("c_total"), "999");
    assert.equal(third.processes[0].series.size, 2001);
    assert.equal(third.processes[0].heartbeat, 999);
  });
});
