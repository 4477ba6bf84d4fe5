import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { commandFor, RUNTIME } from "../support/runtime.ts";

// An app with its own copy of prom-client (in its node_modules, as npm leaves it when the app's
// version is not the exporter's), and the exporter resolving the project's copy.
const root = resolve(import.meta.dirname ?? ".", "../..");
let app = "";

function run(mode: "own-copy" | "registry-given" | "exporter-classes"): Promise<{ stdout: string; stderr: string }> {
  const [command, args] = commandFor(join(app, "app.ts"));
  return new Promise((resolve, reject) => {
    execFile(command, [...args, mode], { cwd: app, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

// Deno resolves "prom-client" through the import map of the enclosing deno.json, so this layout
// gives the app the exporter's copy there: a node_modules copy is Node's and Bun's case.
const skip = RUNTIME === "deno" ? "Deno maps prom-client through deno.json: no second copy in this layout" : false;

describe("a second copy of prom-client in the app", { skip }, () => {
  before(() => {
    mkdirSync(join(root, "tmp"), { recursive: true });
    app = mkdtempSync(join(root, "tmp", "copy-"));
    cpSync(join(root, "node_modules", "prom-client"), join(app, "node_modules", "prom-client"), { recursive: true });
    writeFileSync(
      join(app, "app.ts"),
      `import client from "prom-client"; // the app's own copy
import { createExporter } from ${JSON.stringify(join(root, "src/adapter/auto.ts"))};
import { Counter } from ${JSON.stringify(join(root, "mod.ts"))};
const mode = process.argv[2];
const exporter = createExporter({
  metricsServer: false,
  handleSignals: false,
  ...(mode === "registry-given" ? { registry: client.register } : {}),
});
await exporter.whenReady();
// Declared after the exporter started, as apps often do.
const Jobs = mode === "exporter-classes" ? Counter : client.Counter;
new Jobs({ name: "app_jobs_total", help: "Jobs." }).inc(3);
const text = await exporter.collect();
console.log(JSON.stringify({ counted: /^app_jobs_total 3$/m.test(text) }));
await exporter.onExit();
`,
    );
  });
  after(() => rmSync(app, { recursive: true, force: true }));

  test("metrics declared with it are missing, and the exporter says so once, with the fix", async () => {
    const { stdout, stderr } = await run("own-copy");
    assert.deepEqual(JSON.parse(stdout), { counted: false });
    const warnings = stderr.split("\n").filter((line) => line.includes("its own copy of prom-client"));
    assert.equal(warnings.length, 1, stderr);
    assert.match(warnings[0], /declared 1 metric\(s\)/);
    assert.match(warnings[0], /registry: register/);
    assert.ok(warnings[0].includes(join(app, "node_modules", "prom-client")), "names the app's copy");
  });

  test("given that copy's registry, the exporter counts them and says nothing", async () => {
    const { stdout, stderr } = await run("registry-given");
    assert.deepEqual(JSON.parse(stdout), { counted: true });
    assert.doesNotMatch(stderr, /copy of prom-client/);
  });

  test("metric classes imported from the exporter need nothing more", async () => {
    const { stdout, stderr } = await run("exporter-classes");
    assert.deepEqual(JSON.parse(stdout), { counted: true });
    assert.doesNotMatch(stderr, /copy of prom-client/);
  });
});
