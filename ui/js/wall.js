// The national wall view: tile map of the 21 regions, national figures, occupancy per care
// type, alert ticker, 24 h sparklines, freshness and connection state, and a kiosk mode
// (?kiosk=30) that cycles a region panel through the regions.
//
// Rendering only: live data comes from ws.js into store.js, REST from api.js.

import { ApiClient, ApiError } from "./api.js";
import { CareRows } from "./care-rows.js";
import { askForToken, clearToken, ensureToken, getToken } from "./auth.js";
import { PageChrome } from "./chrome.js";
import { coalesce, h, setText, svg } from "./dom.js";
import { DEFAULT_FRESHNESS, freshnessFromQuery, freshnessOf, newestAsOf } from "./freshness.js";
import { levelBadge } from "./levels.js";
import { Names } from "./names.js";
import { GRID_COLS, GRID_ROWS, REGIONS, REGIONS_BY_CODE, regionByCode } from "./regions.js";
import { drawSparkline } from "./sparkline.js";
import { LiveStore } from "./store.js";
import { LiveConnection, defaultWsUrl } from "./ws.js";

const HISTORY_REFRESH_MS = 5 * 60 * 1000;
const TICKER_ROWS = 8;
const FOCUS_HOSPITALS = 4;

class WallPage {
  constructor() {
    const query = new URLSearchParams(location.search);
    this.freshness = freshnessFromQuery(location.search) ?? DEFAULT_FRESHNESS;
    const kiosk = Number(query.get("kiosk"));
    this.kioskS = kiosk > 0 ? Math.max(5, kiosk) : null;
    this.kioskIndex = -1;
    this.focusCode = null;

    this.store = new LiveStore();
    this.names = new Names();
    /** @type {Map<string, any[]>} region code -> history points */
    this.history = new Map();
    this.historyWindow = { startMs: Date.now() - 86400e3, endMs: Date.now() };

    this.chrome = new PageChrome({
      titleKey: "wall.title",
      onLanguageChange: () => this.renderAll(),
      nav: this.kioskS ? [] : [{ href: "/search", key: "nav.search" }],
    });
    this.render = coalesce(() => this.renderAll());
  }

  get tr() {
    return this.chrome.tr;
  }

  async start() {
    this.buildLayout();
    this.chrome.mount();
    this.renderAll();
    await ensureToken(this.tr);

    this.api = new ApiClient({ getToken });
    this.conn = new LiveConnection({ url: defaultWsUrl(), getToken, scopes: ["nation", "alerts"] });
    this.conn.addEventListener("status", (ev) => this.chrome.setConnection(ev.detail));
    this.conn.addEventListener("message", (ev) => this.store.applyServerMessage(ev.detail));
    this.conn.addEventListener("unauthorized", () => this.reauthenticate());
    this.store.addEventListener("change", this.render);
    this.conn.start();

    // Freshness changes with the clock alone, not only when data arrives.
    setInterval(() => this.renderAll(), 1000);
    if (this.kioskS) {
      this.advanceKiosk();
      setInterval(() => this.advanceKiosk(), this.kioskS * 1000);
    }
    await Promise.all([this.loadInitial(), this.loadHistory()]);
    setInterval(() => this.loadHistory(), HISTORY_REFRESH_MS);
  }

  async reauthenticate() {
    if (this.askingToken) return;
    this.askingToken = true;
    clearToken();
    await askForToken(this.tr, { rejected: true });
    this.askingToken = false;
    this.conn.restart();
    this.loadInitial();
  }

  /** REST fills the page before (or without) the WebSocket snapshot. */
  async loadInitial() {
    const guard = (p) => p.catch((err) => {
      if (err instanceof ApiError && err.status === 401) this.reauthenticate();
      return null;
    });
    const [state, alerts, hospitals] = await Promise.all([
      guard(this.api.state("nation")),
      guard(this.api.alerts({ active: true, limit: 50 })),
      guard(this.api.hospitals()),
    ]);
    if (hospitals) this.names.setHospitals(hospitals);
    if (state) this.store.putAll([...(state.rollups ?? []), ...(state.children ?? [])]);
    if (alerts) this.store.putAll((alerts.alerts ?? []).map((a) => ({ kind: "alert", ...a })));
    this.render();
  }

  async loadHistory() {
    const end = new Date();
    const start = new Date(end.getTime() - 86400e3);
    this.historyWindow = { startMs: start.getTime(), endMs: end.getTime() };
    await Promise.all(REGIONS.map(async (r) => {
      try {
        const body = await this.api.history(`region:${r.code}`, { careType: "all", bucket: "1h", start, end });
        this.history.set(r.code, body?.points ?? []);
      } catch {
        // A missing sparkline is shown as empty; the live figures do not depend on it.
      }
    }));
    this.render();
  }

  advanceKiosk() {
    this.kioskIndex = (this.kioskIndex + 1) % REGIONS_BY_CODE.length;
    const next = REGIONS_BY_CODE[this.kioskIndex].code;
    if (this.focusCode) this.conn.unsubscribe([`region:${this.focusCode}`]);
    this.focusCode = next;
    // The region subscription brings its hospital rollups for the panel's list.
    this.conn.subscribe([`region:${next}`]);
    this.renderAll();
  }

  // ---------------------------------------------------------------- layout

  buildLayout() {
    document.body.classList.toggle("kiosk", this.kioskS != null);
    const map = h("div", { class: "tilemap", style: `--cols:${GRID_COLS};--rows:${GRID_ROWS}` });
    map.append(this.buildLegend());
    /** @type {Map<string, any>} */
    this.tiles = new Map();
    for (const r of REGIONS) {
      const tile = this.buildTile(r);
      map.append(tile.el);
      this.tiles.set(r.code, tile);
    }

    this.figures = {};
    const fig = (key, id) => {
      const value = h("div", { class: "fig-value", id: `fig-${id}` });
      const sub = h("div", { class: "fig-sub" });
      this.figures[id] = { value, sub };
      return h("div", { class: `fig fig-${id}` }, h("div", { class: "fig-label", "data-i18n": key }), value, sub);
    };
    this.nationStale = h("span", { class: "section-stale" });
    this.nationAsOf = h("span", { class: "section-asof" });
    const national = h("section", { class: "panel national", "aria-labelledby": "nation-title" },
      h("h2", { class: "panel-title" }, h("span", { id: "nation-title", "data-i18n": "nation" }), this.nationAsOf, this.nationStale),
      h("div", { class: "figs" },
        fig("fig.available", "available"),
        fig("fig.occupied", "occupied"),
        fig("fig.free", "free"),
        fig("fig.occupancy", "occupancy"),
        fig("fig.overcrowded", "overcrowded"),
        fig("fig.outlying", "outlying"),
        fig("fig.coverage", "coverage"),
        fig("fig.level", "level"),
      ));

    this.careRows = new CareRows();
    const careList = this.careRows.el;
    const care = h("section", { class: "panel caretypes", "aria-labelledby": "care-title" },
      h("h2", { class: "panel-title", id: "care-title", "data-i18n": "caretypes.title" }), careList);

    this.ticker = h("ol", { class: "ticker", id: "alert-ticker" });
    const alerts = h("section", { class: "panel alerts", "aria-labelledby": "alerts-title" },
      h("h2", { class: "panel-title", id: "alerts-title", "data-i18n": "alerts.title" }), this.ticker);

    this.focusPanel = h("section", { class: "panel focus", id: "kiosk-focus", hidden: this.kioskS == null });

    const main = h("main", { class: "wall-main" },
      h("section", { class: "map", "data-i18n": "map.label", "data-i18n-attr": "aria-label" }, map),
      h("div", { class: "side" }, national, care, alerts, this.focusPanel));
    document.body.append(main);
  }

  buildLegend() {
    const items = [1, 2, 3, 4].map((lv) => {
      const b = h("span", { class: "badge" });
      return { lv, b, name: h("span", { class: "legend-name" }) };
    });
    this.legendItems = items;
    this.legendStale = h("span", { class: "legend-name", "data-i18n": "legend.stale" });
    return h("aside", { class: "legend", "aria-labelledby": "legend-title" },
      h("h2", { class: "legend-title", id: "legend-title", "data-i18n": "legend.title" }),
      h("ul", { class: "legend-list" },
        ...items.map((i) => h("li", {}, i.b, i.name)),
        h("li", {}, h("span", { class: "legend-hatch", "aria-hidden": "true" }), this.legendStale)),
      h("p", { class: "legend-tile", "data-i18n": "legend.tile" }));
  }

  buildTile(r) {
    const t = {
      region: r,
      name: h("span", { class: "tile-name" }, r.short),
      letters: h("span", { class: "tile-letters" }, r.letters),
      badge: h("span", { class: "badge" }),
      occ: h("span", { class: "tile-occ" }),
      target: h("span", { class: "tile-target" }),
      free: h("span", { class: "tile-free" }),
      stale: h("span", { class: "tile-stale" }),
      spark: svg({ class: "spark" }),
      // The link's name is its visible text plus this sentence for screen readers
      // (an aria-label would hide the visible text: WCAG 2.5.3 "label in name").
      sr: h("span", { class: "sr-only" }),
    };
    t.el = h("a", {
      class: "tile", href: `/region/${r.code}`, "data-region": r.code,
      style: `grid-column:${r.col + 1};grid-row:${r.row + 1}`,
    },
    h("div", { class: "tile-head" }, t.name, t.letters),
    h("div", { class: "tile-body" }, t.badge, t.occ),
    h("div", { class: "tile-info" }, t.free, t.target),
    t.spark,
    t.stale,
    t.sr);
    if (r.code === "09") t.el.classList.add("island");
    return t;
  }

  // ---------------------------------------------------------------- render

  renderAll() {
    if (!this.tiles) return;
    const now = Date.now();
    const tr = this.tr;
    for (const item of this.legendItems) {
      levelBadge(item.b, item.lv, tr);
      setText(item.name, tr.levelName(item.lv));
    }
    for (const [code, tile] of this.tiles) this.renderTile(tile, this.store.rollup(`region:${code}`), now);
    this.renderNation(now);
    this.renderCareTypes(now);
    this.renderTicker();
    if (this.kioskS) this.renderFocus(now);

    const shown = [this.store.rollup("nation"), ...this.store.rollupsWithPrefix("region:")];
    const newest = newestAsOf(shown);
    this.chrome.setNewest(newest, freshnessOf(this.store.rollup("nation"), now, this.freshness).stale);
  }

  renderTile(t, rollup, now) {
    const tr = this.tr;
    const f = freshnessOf(rollup, now, this.freshness);
    const level = rollup?.pressure_level ?? null;
    const el = t.el;
    el.dataset.level = level ? String(level) : "";
    el.dataset.stale = String(f.stale);
    el.className = `tile${t.region.code === "09" ? " island" : ""}${level ? ` lvl-${level}` : " lvl-none"}${f.stale ? " is-stale" : ""}${this.focusCode === t.region.code ? " is-focus" : ""}`;
    levelBadge(t.badge, level, tr, { stale: f.stale });
    const occ = rollup?.measures?.occupancy;
    setText(t.occ, tr.pct(occ));
    setText(t.target, tr.t("tile.target", { v: tr.pct(rollup?.target) }));
    setText(t.free, tr.t("tile.free", { n: tr.int(rollup?.counts?.free_beds) }));
    let staleText = "";
    if (f.stale && f.reason !== "nodata") {
      staleText = f.reason === "coverage"
        ? `${tr.t("stale.coverage")} ${tr.pct(f.coverage)}`
        : `${tr.t("stale")} · ${tr.age(f.ageS)}`;
    }
    setText(t.stale, staleText);
    t.stale.hidden = staleText === "";
    let label;
    if (!rollup) label = tr.t("tile.nodata", { name: t.region.name });
    else if (f.stale) {
      label = tr.t("tile.aria.stale", { name: t.region.name, age: tr.age(f.ageS), level: level ?? "?", occ: tr.pct(occ) });
    } else {
      label = tr.t("tile.aria", {
        name: t.region.name, level, levelName: tr.levelName(level), occ: tr.pct(occ),
        target: tr.pct(rollup.target), free: tr.int(rollup.counts?.free_beds),
      });
    }
    setText(t.sr, ` ${label}`);
    const points = this.history.get(t.region.code) ?? [];
    const sparkKey = `${points.length}:${points.at(-1)?.t}:${tr.lang}:${rollup?.target}`;
    if (t.sparkKey !== sparkKey) {
      t.sparkKey = sparkKey;
      drawSparkline(t.spark, points, { ...this.historyWindow, target: rollup?.target ?? null, label: tr.t("spark.aria") });
    }
  }

  renderNation(now) {
    const tr = this.tr;
    const n = this.store.rollup("nation");
    const f = freshnessOf(n, now, this.freshness);
    const c = n?.counts;
    const m = n?.measures;
    const F = this.figures;
    setText(F.available.value, tr.int(c?.available_beds));
    setText(F.occupied.value, tr.int(c?.occupied));
    setText(F.free.value, tr.int(c?.free_beds));
    setText(F.free.sub, m ? `${tr.t("col.free_after_pending")}: ${tr.int(m.free_after_pending)}` : "");
    setText(F.occupancy.value, tr.pct(m?.occupancy));
    setText(F.occupancy.sub, n ? tr.t("fig.target", { v: tr.pct(n.target) }) : "");
    setText(F.overcrowded.value, tr.dec1(m?.overcrowded_per_100));
    setText(F.outlying.value, tr.dec1(m?.outlying_per_100));
    setText(F.coverage.value, tr.pct(n?.reporting_coverage));
    setText(F.coverage.sub, n ? tr.t("fig.coverage.detail", { n: tr.int(n.wards_reporting), m: tr.int(n.ward_count) }) : "");
    F.coverage.value.parentElement.classList.toggle("is-low", f.reason === "coverage");
    const level = n?.pressure_level ?? null;
    if (!F.level.badge) {
      F.level.badge = h("span", { class: "badge" });
      F.level.value.append(F.level.badge);
    }
    levelBadge(F.level.badge, level, tr, { withName: true, stale: f.stale });
    const national = F.available.value.closest(".national");
    national.classList.toggle("is-stale", f.stale && n != null);
    national.dataset.stale = String(f.stale);
    setText(this.nationAsOf, n ? tr.time(n.as_of) : "");
    let staleText = "";
    if (n && f.stale) {
      staleText = f.reason === "coverage"
        ? `${tr.t("stale")} · ${tr.t("stale.coverage").toLowerCase()} ${tr.pct(f.coverage)}`
        : `${tr.t("stale")} · ${tr.age(f.ageS)}`;
    }
    setText(this.nationStale, staleText);
    this.nationStale.hidden = staleText === "";
  }

  renderCareTypes(now) {
    this.careRows.render(this.store, "nation", now, this.freshness, this.tr);
  }

  renderTicker() {
    const tr = this.tr;
    const alerts = this.store.alertList().slice(0, TICKER_ROWS);
    const key = `${tr.lang}|${alerts.map((a) => `${a.alert_id}:${a.sequence}:${a.acknowledged}`).join(",")}|${this.names.hospitals.size}`;
    if (this.tickerKey === key) return;
    this.tickerKey = key;
    if (alerts.length === 0) {
      this.ticker.replaceChildren(h("li", { class: "ticker-empty" }, tr.t("alerts.none")));
      return;
    }
    this.ticker.replaceChildren(...alerts.map((a) => h("li", {
      class: `ticker-item state-${a.state}`, "data-alert-id": a.alert_id,
    },
    h("time", { class: "ticker-time", datetime: a.occurred_at }, tr.hm(a.occurred_at)),
    levelBadge(null, a.level, tr),
    h("div", { class: "ticker-text" },
      h("div", { class: "ticker-scope" },
        this.names.scope(a.scope_id, tr),
        a.care_type && a.care_type !== "all" ? h("span", { class: "ticker-ct" }, ` · ${tr.careType(a.care_type)}`) : null),
      h("div", { class: "ticker-msg" },
        h("span", { class: "ticker-state" }, tr.t(`alert.state.${a.state}`)),
        a.acknowledged && a.state !== "acknowledged" ? h("span", { class: "ticker-ack" }, ` · ${tr.t("alert.acked")}`) : null,
        ` · ${a.rule === "stale" ? tr.t("alert.rule.stale") : a.message ?? ""}`)))));
  }

  renderFocus(now) {
    const tr = this.tr;
    const code = this.focusCode;
    const region = code ? regionByCode(code) : null;
    if (!region) return;
    const r = this.store.rollup(`region:${code}`);
    const f = freshnessOf(r, now, this.freshness);
    const hospitals = this.store.rollupsWithPrefix("hospital:")
      .filter((x) => this.names.hospitals.get(x.scope_id.slice(9))?.region_code === code
        || this.store.wardsOfRegion(code).some((w) => `hospital:${w.hospital_id}` === x.scope_id))
      .sort((a, b) => (b.pressure_level - a.pressure_level) || ((b.measures?.occupancy ?? 0) - (a.measures?.occupancy ?? 0)))
      .slice(0, FOCUS_HOSPITALS);
    const prep = r?.declared_preparedness;
    this.focusPanel.dataset.region = code;
    const spark = svg({ class: "spark spark-large" });
    drawSparkline(spark, this.history.get(code) ?? [], { ...this.historyWindow, target: r?.target ?? null, label: tr.t("spark.aria") });
    const fig = (labelKey, value, sub) => h("div", { class: "fig" },
      h("div", { class: "fig-label" }, tr.t(labelKey)), h("div", { class: "fig-value" }, value),
      sub ? h("div", { class: "fig-sub" }, sub) : null);
    this.focusPanel.replaceChildren(
      h("h2", { class: "panel-title" },
        h("span", { class: "focus-kicker" }, tr.t("kiosk.label")),
        h("span", { class: "focus-name" }, region.name),
        f.stale && r ? h("span", { class: "section-stale" }, `${tr.t("stale")} · ${tr.age(f.ageS)}`) : null),
      h("div", { class: "focus-top" },
        h("div", { class: "focus-level" }, h("div", { class: "fig-label" }, tr.t("computed.label")),
          levelBadge(null, r?.pressure_level, tr, { withName: true, stale: f.stale })),
        h("div", { class: "focus-level" }, h("div", { class: "fig-label" }, tr.t("prep.label")),
          h("div", { class: "prep" }, prep ? tr.t(`prep.${prep}`) : tr.t("prep.none")))),
      h("div", { class: "focus-figs" },
        fig("fig.occupancy", tr.pct(r?.measures?.occupancy), r ? tr.t("fig.target", { v: tr.pct(r.target) }) : ""),
        fig("fig.free", tr.int(r?.counts?.free_beds)),
        fig("fig.coverage", tr.pct(r?.reporting_coverage))),
      spark,
      h("ul", { class: "focus-hospitals", "aria-label": tr.t("kiosk.hospitals") },
        ...hospitals.map((x) => h("li", {},
          h("span", { class: "fh-name" }, this.names.hospital(x.scope_id.slice(9))),
          levelBadge(null, x.pressure_level, tr),
          h("span", { class: "num" }, tr.pct(x.measures?.occupancy)),
          h("span", { class: "num" }, tr.t("tile.free", { n: tr.int(x.counts?.free_beds) }))))),
    );
  }
}

new WallPage().start();
