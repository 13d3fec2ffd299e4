// Unit tests of the UI's pure modules (no DOM): run with `node --test tests/ui/unit/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_FRESHNESS, freshnessFromQuery, freshnessOf, newestAsOf } from "../../../ui/js/freshness.js";
import { Translator } from "../../../ui/js/i18n.js";
import { GRID_COLS, GRID_ROWS, REGIONS, regionCodeOfScope } from "../../../ui/js/regions.js";
import { sortRows } from "../../../ui/js/sort.js";
import { sparklineGeometry } from "../../../ui/js/sparkline.js";
import { LiveStore } from "../../../ui/js/store.js";
import { backoffDelay } from "../../../ui/js/ws.js";
import { canAcknowledge, listOf } from "../../../ui/js/api.js";

const NOW = Date.parse("2026-01-15T08:00:00Z");
const ago = (s) => new Date(NOW - s * 1000).toISOString();

test("the tile map has 21 regions on distinct cells inside the grid", () => {
  assert.equal(REGIONS.length, 21);
  assert.equal(new Set(REGIONS.map((r) => r.code)).size, 21);
  assert.equal(new Set(REGIONS.map((r) => `${r.col},${r.row}`)).size, 21);
  for (const r of REGIONS) {
    assert.ok(r.col >= 0 && r.col < GRID_COLS && r.row >= 0 && r.row < GRID_ROWS, r.name);
  }
  const at = (code) => REGIONS.find((r) => r.code === code);
  assert.equal(at("25").row, 0, "Norrbotten at the top");
  assert.equal(at("12").row, GRID_ROWS - 1, "Skåne at the bottom");
  assert.ok(at("09").col > at("08").col, "Gotland east of Kalmar");
  // The legend's corner stays free.
  assert.ok(!REGIONS.some((r) => r.col < 2 && r.row < 2));
  assert.equal(regionCodeOfScope("region:07"), "07");
  assert.equal(regionCodeOfScope("hospital:x"), null);
});

test("freshness: age, coverage, the ward's own flag and interval", () => {
  const opts = DEFAULT_FRESHNESS;
  assert.deepEqual(freshnessOf(null, NOW, opts).reason, "nodata");
  assert.equal(freshnessOf({ as_of: ago(60), reporting_coverage: 1 }, NOW, opts).stale, false);
  assert.equal(freshnessOf({ as_of: ago(opts.staleAfterS + 1), reporting_coverage: 1 }, NOW, opts).reason, "age");
  const low = freshnessOf({ as_of: ago(10), reporting_coverage: 0.5 }, NOW, opts);
  assert.equal(low.reason, "coverage");
  assert.equal(low.coverage, 0.5);
  assert.equal(freshnessOf({ as_of: ago(10), stale: true }, NOW, opts).reason, "flag");
  // A ward with a 5 min interval is stale after 5 min (plus 30 s grace), not after 15.
  assert.equal(freshnessOf({ as_of: ago(320), expected_interval_s: 300 }, NOW, opts).stale, false);
  assert.equal(freshnessOf({ as_of: ago(340), expected_interval_s: 300 }, NOW, opts).stale, true);
  assert.equal(newestAsOf([{ as_of: ago(30) }, null, { as_of: ago(5) }]), NOW - 5000);
  assert.deepEqual(freshnessFromQuery("?stale_after=60&min_coverage=0.9"), { staleAfterS: 60, minCoverage: 0.9 });
  assert.deepEqual(freshnessFromQuery("?stale_after=x"), { ...DEFAULT_FRESHNESS });
});

test("sorting is stable, directional, and keeps missing values last", () => {
  const rows = [{ n: "b", v: 2 }, { n: "a", v: null }, { n: "c", v: 10 }, { n: "d", v: 2 }];
  assert.deepEqual(sortRows(rows, (r) => r.v, "ascending").map((r) => r.n), ["b", "d", "c", "a"]);
  assert.deepEqual(sortRows(rows, (r) => r.v, "descending").map((r) => r.n), ["c", "b", "d", "a"]);
  assert.deepEqual(sortRows(rows, (r) => r.n, "descending").map((r) => r.n), ["d", "c", "b", "a"]);
});

test("sparkline geometry spans the window and includes the target", () => {
  const pts = [{ t: ago(3600), occupancy: 0.8 }, { t: ago(0), occupancy: 0.9 }, { t: ago(10), occupancy: null }];
  const g = sparklineGeometry(pts, { width: 200, height: 40, startMs: NOW - 7200e3, endMs: NOW, target: 0.85 });
  const xs = g.line.split(" ").map((p) => Number(p.split(",")[0]));
  assert.deepEqual(xs, [100, 200]);
  assert.ok(g.targetY > 0 && g.targetY < 40);
  assert.equal(sparklineGeometry([], { width: 1, height: 1, startMs: 0, endMs: 1 }), null);
});

test("backoff grows exponentially up to the cap, with bounded jitter", () => {
  const policy = { initialMs: 1000, maxMs: 30000, factor: 2, jitter: 0.2 };
  const mid = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 10].map((a) => backoffDelay(a, policy, mid)), [1000, 2000, 4000, 8000, 30000]);
  assert.equal(backoffDelay(0, policy, () => 0), 800);
  assert.equal(backoffDelay(0, policy, () => 1), 1200);
});

test("the live store keeps the newest version per key and orders alerts newest first", () => {
  const store = new LiveStore();
  let changes = 0;
  store.addEventListener("change", () => changes++);
  const r = (version, asOf, level) => ({ kind: "rollup", scope_id: "region:01", care_type: "all", version, as_of: asOf, pressure_level: level });
  store.applyServerMessage({ v: 1, type: "snapshot", scope: "nation", items: [r(5, ago(60), 2)] });
  store.applyServerMessage({ v: 1, type: "update", key: "region:01:all", data: r(4, ago(120), 3) });
  assert.equal(store.rollup("region:01").pressure_level, 2, "an older version is ignored");
  store.applyServerMessage({ v: 1, type: "update", key: "region:01:all", data: r(6, ago(1), 4) });
  assert.equal(store.rollup("region:01").pressure_level, 4);
  store.applyServerMessage({ v: 2, type: "update", data: r(7, ago(0), 1) });
  assert.equal(store.rollup("region:01").pressure_level, 4, "unknown message versions are ignored");
  const a = (id, seq, state, t) => ({ kind: "alert", alert_id: id, sequence: seq, state, occurred_at: t, region_code: "01" });
  store.putAll([a("x", 1, "raised", ago(300)), a("y", 1, "raised", ago(60))]);
  store.putAll([a("x", 2, "acknowledged", ago(30))]);
  assert.deepEqual(store.alertList().map((x) => x.alert_id), ["x", "y"]);
  assert.equal(store.alerts.get("x").acknowledged, true);
  store.putAll([a("x", 3, "resolved", ago(1))]);
  assert.deepEqual(store.alertList().map((x) => x.alert_id), ["y"]);
  assert.ok(changes >= 4);
});

test("Swedish and English number and time formats, in Stockholm time", () => {
  const sv = new Translator("sv");
  const en = new Translator("en");
  assert.equal(sv.int(23912).replace(/\s/g, " "), "23 912");
  assert.equal(en.int(23912), "23,912");
  assert.equal(sv.pct(1.02).replace(/\s/g, " "), "102 %");
  assert.equal(en.pct(0.875), "88%");
  assert.equal(sv.dec1(5.94), "5,9");
  assert.equal(en.dec1(5.94), "5.9");
  assert.equal(sv.int(null), "–");
  // 08:00 UTC in January is 09:00 in Stockholm; in July 10:00.
  assert.equal(sv.hm("2026-01-15T08:00:00Z"), "09:00");
  assert.equal(sv.hm("2026-07-15T08:00:00Z"), "10:00");
  assert.equal(sv.t("tile.free", { n: 3 }), "3 lediga");
  assert.equal(en.t("tile.free", { n: 3 }), "3 free");
  assert.equal(en.levelName(4), "Severe");
  assert.equal(sv.levelName(4), "Allvarligt");
});

test("reference lists and acknowledgement roles", () => {
  assert.deepEqual(listOf([1]), [1]);
  assert.deepEqual(listOf({ hospitals: [2] }, "hospitals"), [2]);
  assert.deepEqual(listOf({ items: [3] }), [3]);
  assert.equal(canAcknowledge("national", "01"), true);
  assert.equal(canAcknowledge("region:01", "01"), true);
  assert.equal(canAcknowledge("region:03", "01"), false);
  assert.equal(canAcknowledge("referral", "01"), false);
  assert.equal(canAcknowledge(null, "01"), false);
});

test("a remove message forgets the key", () => {
  const store = new LiveStore();
  store.putAll([{ kind: "rollup", scope_id: "region:01", care_type: "all", version: 1, as_of: ago(1) }]);
  assert.ok(store.rollup("region:01"));
  assert.equal(store.applyServerMessage({ v: 1, type: "remove", key: "region:01:all" }), true);
  assert.equal(store.rollup("region:01"), undefined);
});
