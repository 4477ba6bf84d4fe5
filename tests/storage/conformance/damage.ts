/**
 * Damaged and stray entries: a record that does not read is skipped, counted and named, never
 * fatal, and counted as of each read (not accumulated); an entry that is not the backend's is a
 * stray. Through the exporter, a scrape still answers 200 and shows the damage in its own gauge.
 */
import assert from "node:assert/strict";
import { createExporter, Registry } from "../../../mod.ts";
import { MemoryLogger, sample } from "../../support/sim.ts";
import { needs, rule, type Suite, use } from "../conformance.ts";
import { retireOne, update } from "./updates.ts";

/** The damage rules, on the backend `suite` makes. */
export function damageRules({ capabilities, fresh, forProcesses }: Suite): void {
  rule(
    "a damaged record is skipped, counted and named in problems, never fatal; counted again, not accumulated",
    needs(capabilities.damageRecord),
    async () => {
      const s = await fresh();
      await s.publish(update("a", 10, { c_total: "3" }));
      await s.publish(update("victim-7", 11, { c_total: "4" }));
      await use(capabilities.damageRecord)(s, "victim-7");
      const state = await s.read();
      assert.deepEqual(state.processes.map((p) => p.id), ["a"], "the damaged record is skipped, the others read");
      assert.equal(state.processes[0].series.get("c_total"), "3");
      assert.equal(state.corrupt, 1);
      assert.ok(state.problems?.some((p) => p.includes("victim-7")), `named: ${JSON.stringify(state.problems)}`);
      assert.equal((await s.read()).corrupt, 1, "the same damage is counted again, not accumulated");
      await retireOne(s, "a", 10, { c_total: "3" });
      const after = await s.read();
      assert.equal(after.retired.get("c_total"), "3", "a retirement beside the damage commits");
      assert.equal(after.corrupt, 1, "and leaves the damaged record for repair");
      await s.close();
    },
  );

  rule(
    "through the exporter: a damaged record gives a 200 scrape that counts it, the same on each scrape, said once",
    needs(capabilities.damageRecord),
    async () => {
      const storage = await forProcesses();
      const logger = new MemoryLogger();
      const exporter = createExporter({
        registry: new Registry(),
        storage,
        metricsServer: false,
        minScrapeIntervalMs: 0, // each scrape a fresh read
        logger,
      });
      await exporter.flush();
      const remove = await use(capabilities.damageRecord)(storage, "intruder");
      const damaged = `hono_exporter_storage_damaged_entries{backend="${storage.kind}",kind="corrupt"}`;
      const scrape = async () => {
        const res = await exporter.scrape(new Request("http://x/metrics"));
        assert.equal(res.status, 200);
        return sample(await res.text(), damaged);
      };
      for (let i = 0; i < 2; i++) assert.equal(await scrape(), 1, `scrape ${i + 1}: the same record, counted once`);
      const said = logger.lines.filter((line) => line.includes("record(s) that do not read"));
      assert.equal(said.length, 1, `said once while it lasts: ${JSON.stringify(logger.lines)}`);
      assert.match(said[0], /intruder/, "the log line names it");
      await remove();
      assert.equal(await scrape(), 0, "gone once the record is removed");
      assert.ok(logger.lines.some((line) => line.includes("no damage left")), JSON.stringify(logger.lines));
      await exporter.onExit();
      await storage.close();
    },
  );

  rule(
    "an entry that is not the backend's is skipped, counted as a stray and named in problems",
    needs(capabilities.addStray),
    async () => {
      const s = await fresh();
      await s.publish(update("a", 10, { c_total: "2" }));
      const name = await use(capabilities.addStray)(s);
      const state = await s.read();
      assert.equal(state.strays, 1);
      assert.equal(state.corrupt, 0, "a stray is not damage of the backend's own records");
      assert.ok(state.problems?.some((p) => p.includes(name)), `named: ${JSON.stringify(state.problems)}`);
      assert.deepEqual(state.processes.map((p) => [p.id, p.series.get("c_total")]), [["a", "2"]]);
      assert.equal((await s.read()).strays, 1, "counted again, not accumulated");
      await s.close();
    },
  );
}
