// The region page (/region/<code>): the region's computed level beside its declared
// preparedness level, its figures and care types, its hospitals and wards in sortable
// tables, and its alerts with acknowledgement for the roles allowed to.

import { ApiClient, ApiError, canAcknowledge } from "./api.js";
import { CareRows } from "./care-rows.js";
import { askForToken, clearToken, ensureToken, getToken } from "./auth.js";
import { PageChrome } from "./chrome.js";
import { coalesce, h, setText } from "./dom.js";
import { freshnessFromQuery, freshnessOf, newestAsOf } from "./freshness.js";
import { levelBadge } from "./levels.js";
import { Names } from "./names.js";
import { regionByCode } from "./regions.js";
import { LiveStore } from "./store.js";
import { SortableTable } from "./table.js";
import { LiveConnection, defaultWsUrl } from "./ws.js";

/** The region code from /region/<code> (or ?code= when the page is opened as a file). */
export function regionCodeFromLocation(loc = location) {
  const m = /\/region\/(\d{2})\/?$/.exec(loc.pathname);
  return m ? m[1] : new URLSearchParams(loc.search).get("code");
}

/** "14:31 · 2 min" with a stale chip when the row's data is out of date. */
function freshnessCell(msg, tr, now, freshness) {
  const f = freshnessOf(msg, now, freshness);
  return h("span", { class: "freshness" },
    `${tr.hm(msg.as_of)} · ${tr.age(f.ageS)}`,
    f.stale ? h("span", { class: "row-stale" }, tr.t("stale")) : "");
}

function numberColumns(prefix = "") {
  const get = (row) => (prefix ? row[prefix] : row);
  return [
    { key: "available", labelKey: "col.available", num: true, value: (r) => get(r).counts?.available_beds, render: (r, tr) => tr.int(get(r).counts?.available_beds) },
    { key: "occupied", labelKey: "col.occupied", num: true, value: (r) => get(r).counts?.occupied, render: (r, tr) => tr.int(get(r).counts?.occupied) },
    { key: "free", labelKey: "col.free", num: true, value: (r) => get(r).counts?.free_beds, render: (r, tr) => tr.int(get(r).counts?.free_beds) },
    { key: "occupancy", labelKey: "col.occupancy", num: true, value: (r) => get(r).measures?.occupancy, render: (r, tr) => tr.pct(get(r).measures?.occupancy) },
    { key: "target", labelKey: "col.target", num: true, value: (r) => get(r).target, render: (r, tr) => tr.pct(get(r).target) },
    { key: "overcrowded", labelKey: "col.overcrowded", num: true, value: (r) => get(r).counts?.overcrowded, render: (r, tr) => tr.int(get(r).counts?.overcrowded) },
    { key: "outlying", labelKey: "col.outlying", num: true, value: (r) => get(r).counts?.outlying_hosted, render: (r, tr) => tr.int(get(r).counts?.outlying_hosted) },
    { key: "pending", labelKey: "col.pending", num: true, value: (r) => get(r).counts?.pending_admissions, render: (r, tr) => tr.int(get(r).counts?.pending_admissions) },
  ];
}

class RegionPage {
  constructor() {
    this.code = regionCodeFromLocation();
    this.region = this.code ? regionByCode(this.code) : undefined;
    this.freshness = freshnessFromQuery(location.search);
    this.store = new LiveStore();
    this.names = new Names();
    this.role = null;
    this.ackErrors = new Map();
    this.chrome = new PageChrome({
      titleKey: "region.title",
      onLanguageChange: () => this.renderAll(),
      nav: [{ href: "/", key: "nav.wall" }, { href: "/search", key: "nav.search" }],
    });
    this.render = coalesce(() => this.renderAll(), 50);
  }

  get tr() {
    return this.chrome.tr;
  }

  async start() {
    this.buildLayout();
    this.chrome.mount();
    if (!this.region) {
      this.renderAll();
      return;
    }
    await ensureToken(this.tr);
    this.api = new ApiClient({ getToken });
    this.conn = new LiveConnection({ url: defaultWsUrl(), getToken, scopes: [`region:${this.code}`, "alerts"] });
    this.conn.addEventListener("status", (ev) => this.chrome.setConnection(ev.detail));
    this.conn.addEventListener("message", (ev) => this.store.applyServerMessage(ev.detail));
    this.conn.addEventListener("unauthorized", () => this.reauthenticate());
    this.store.addEventListener("change", this.render);
    this.conn.start();
    setInterval(() => this.renderAll(), 5000);
    await this.loadInitial();
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

  async loadInitial() {
    const guard = (p) => p.catch((err) => {
      if (err instanceof ApiError && err.status === 401) this.reauthenticate();
      else this.showError(err);
      return null;
    });
    const [state, alerts, hospitals, wards, who] = await Promise.all([
      guard(this.api.state(`region:${this.code}`)),
      guard(this.api.alerts({ active: true, region: this.code, limit: 100 })),
      guard(this.api.hospitals()),
      guard(this.api.wards()),
      guard(this.api.whoami()),
    ]);
    if (hospitals) this.names.setHospitals(hospitals);
    if (wards) this.names.setWards(wards);
    this.role = who?.role ?? null;
    if (state) this.store.putAll([...(state.rollups ?? []), ...(state.children ?? [])]);
    if (alerts) this.store.putAll((alerts.alerts ?? []).map((a) => ({ kind: "alert", ...a })));
    this.renderAll();
  }

  showError(err) {
    setText(this.errorEl, this.tr.t("error.load", { detail: err instanceof Error ? err.message : String(err) }));
    this.errorEl.hidden = false;
  }

  buildLayout() {
    this.errorEl = h("div", { class: "error-banner", role: "alert", hidden: true });
    this.nameEl = h("h2", { id: "region-name" });
    this.levelEl = h("span", { class: "badge", id: "computed-level" });
    this.prepEl = h("span", { class: "prep", id: "declared-level" });
    this.staleEl = h("span", { class: "stale-chip", hidden: true });
    this.asOfEl = h("span", { class: "muted" });
    const head = h("section", { class: "panel region-head", "aria-labelledby": "region-name" },
      this.nameEl,
      h("div", { class: "region-levels" },
        h("div", {}, h("span", { class: "lbl", "data-i18n": "computed.label" }), this.levelEl),
        h("div", {}, h("span", { class: "lbl", "data-i18n": "prep.label" }), this.prepEl)),
      h("div", {}, this.asOfEl, " ", this.staleEl));

    this.figs = {};
    const fig = (key, id) => {
      const value = h("div", { class: "fig-value" });
      const sub = h("div", { class: "fig-sub" });
      this.figs[id] = { value, sub };
      return h("div", { class: "fig" }, h("div", { class: "fig-label", "data-i18n": key }), value, sub);
    };
    const figures = h("section", { class: "panel", "aria-label": "figures" },
      h("div", { class: "figs" },
        fig("fig.available", "available"), fig("fig.occupied", "occupied"), fig("fig.free", "free"),
        fig("fig.occupancy", "occupancy"), fig("fig.overcrowded", "overcrowded"), fig("fig.outlying", "outlying"),
        fig("fig.coverage", "coverage")));
    figures.setAttribute("data-i18n", "region.title");
    figures.setAttribute("data-i18n-attr", "aria-label");

    this.careRows = new CareRows();
    const careList = this.careRows.el;
    const care = h("section", { class: "panel", "aria-labelledby": "care-title" },
      h("h2", { class: "panel-title", id: "care-title", "data-i18n": "region.caretypes" }), careList);

    const now = () => Date.now();
    const level = { key: "level", labelKey: "col.level", num: true, value: (r) => r.pressure_level, render: (r, tr) => levelBadge(null, r.pressure_level, tr, { stale: freshnessOf(r, now(), this.freshness).stale }) };
    const fresh = { key: "asof", labelKey: "col.freshness", value: (r) => Date.parse(r.as_of), render: (r, tr) => freshnessCell(r, tr, now(), this.freshness) };
    const staleClass = (r) => (freshnessOf(r, now(), this.freshness).stale ? "is-stale" : "");
    this.hospitalTable = new SortableTable({
      id: "hospitals-table",
      captionKey: "sort.hint",
      sort: { key: "occupancy", direction: "descending" },
      rowClass: staleClass,
      rowKey: (r) => r.scope_id,
      columns: [
        { key: "name", labelKey: "col.hospital", rowHeader: true, value: (r) => this.names.hospital(r.scope_id.slice(9)) },
        level,
        ...numberColumns(),
        fresh,
      ],
    });
    this.wardTable = new SortableTable({
      id: "wards-table",
      captionKey: "sort.hint",
      sort: { key: "occupancy", direction: "descending" },
      rowClass: staleClass,
      rowKey: (r) => r.ward_id,
      columns: [
        { key: "name", labelKey: "col.ward", rowHeader: true, value: (r) => this.names.ward(r.ward_id) },
        { key: "hospital", labelKey: "col.hospital", value: (r) => this.names.hospital(r.hospital_id) },
        { key: "caretype", labelKey: "col.caretype", value: (r) => this.tr.careType(r.care_type) },
        level,
        ...numberColumns(),
        fresh,
      ],
    });

    this.alertList = h("ul", { class: "alert-list", id: "region-alerts" });
    const alerts = h("section", { class: "panel", "aria-labelledby": "alerts-title" },
      h("h2", { class: "panel-title", id: "alerts-title", "data-i18n": "region.alerts" }), this.alertList);

    const main = h("main", { class: "desk-main" },
      this.errorEl, head, figures,
      h("div", { class: "two-col" }, care, alerts),
      h("section", { class: "panel", "aria-labelledby": "hospitals-title" },
        h("h2", { class: "panel-title", id: "hospitals-title", "data-i18n": "region.hospitals" }),
        h("div", { class: "table-wrap" }, this.hospitalTable.el)),
      h("section", { class: "panel", "aria-labelledby": "wards-title" },
        h("h2", { class: "panel-title", id: "wards-title", "data-i18n": "region.wards" }),
        h("div", { class: "table-wrap" }, this.wardTable.el)));
    document.body.append(main);
  }

  renderAll() {
    const tr = this.tr;
    const now = Date.now();
    if (!this.region) {
      setText(this.nameEl, tr.t("region.unknown"));
      return;
    }
    const scope = `region:${this.code}`;
    const r = this.store.rollup(scope);
    const f = freshnessOf(r, now, this.freshness);
    setText(this.nameEl, `${this.region.name} (${this.region.letters})`);
    document.title = `${this.region.name} · capmon`;
    levelBadge(this.levelEl, r?.pressure_level, tr, { withName: true, stale: f.stale });
    const prep = r?.declared_preparedness;
    setText(this.prepEl, prep ? tr.t(`prep.${prep}`) : tr.t("prep.none"));
    this.prepEl.dataset.value = prep ?? "";
    setText(this.asOfEl, r ? `${tr.t("data.newest")} ${tr.time(r.as_of)}` : tr.t("data.none"));
    this.staleEl.hidden = !(r && f.stale);
    setText(this.staleEl, f.reason === "coverage" ? `${tr.t("stale.coverage")} ${tr.pct(f.coverage)}` : `${tr.t("stale")} · ${tr.age(f.ageS)}`);

    const c = r?.counts;
    const m = r?.measures;
    setText(this.figs.available.value, tr.int(c?.available_beds));
    setText(this.figs.occupied.value, tr.int(c?.occupied));
    setText(this.figs.free.value, tr.int(c?.free_beds));
    setText(this.figs.free.sub, m ? `${tr.t("col.free_after_pending")}: ${tr.int(m.free_after_pending)}` : "");
    setText(this.figs.occupancy.value, tr.pct(m?.occupancy));
    setText(this.figs.occupancy.sub, r ? tr.t("fig.target", { v: tr.pct(r.target) }) : "");
    setText(this.figs.overcrowded.value, tr.dec1(m?.overcrowded_per_100));
    setText(this.figs.outlying.value, tr.dec1(m?.outlying_per_100));
    setText(this.figs.coverage.value, tr.pct(r?.reporting_coverage));
    setText(this.figs.coverage.sub, r ? tr.t("fig.coverage.detail", { n: tr.int(r.wards_reporting), m: tr.int(r.ward_count) }) : "");

    this.careRows.render(this.store, scope, now, this.freshness, tr);

    const hospitalIds = new Set(this.names.hospitals.size
      ? [...this.names.hospitals.values()].filter((x) => x.region_code === this.code).map((x) => x.hospital_id)
      : []);
    const wards = this.store.wardsOfRegion(this.code);
    for (const w of wards) hospitalIds.add(w.hospital_id);
    const hospitals = this.store.rollupsWithPrefix("hospital:").filter((x) => hospitalIds.has(x.scope_id.slice(9)));
    this.hospitalTable.setRows(hospitals, tr);
    this.wardTable.setRows(wards, tr);
    this.renderAlerts();
    this.chrome.setNewest(newestAsOf([r, ...hospitals, ...wards]), f.stale);
  }

  renderAlerts() {
    const tr = this.tr;
    const alerts = this.store.alertList({ region: this.code });
    if (alerts.length === 0) {
      this.alertList.replaceChildren(h("li", { class: "muted" }, tr.t("alerts.none")));
      return;
    }
    const mayAck = canAcknowledge(this.role, this.code);
    this.alertList.replaceChildren(...alerts.map((a) => {
      let action = null;
      if (a.acknowledged) action = h("span", { class: "ack-done" }, `✓ ${tr.t("alert.acked")}`);
      else if (mayAck) {
        action = h("button", { type: "button", class: "btn ack-btn", "data-alert-id": a.alert_id }, tr.t("alert.ack"));
        action.addEventListener("click", () => this.acknowledge(a.alert_id));
      }
      const err = this.ackErrors.get(a.alert_id);
      return h("li", { class: `alert-item lvl-${a.level}`, "data-alert-id": a.alert_id },
        levelBadge(null, a.level, tr),
        h("div", {},
          h("div", { class: "alert-title" },
            this.names.scope(a.scope_id, tr),
            a.care_type !== "all" ? ` · ${tr.careType(a.care_type)}` : ""),
          h("div", { class: "alert-meta" },
            `${tr.dateTime(a.occurred_at)} · ${tr.t(`alert.state.${a.state}`)} · ${a.rule === "stale" ? tr.t("alert.rule.stale") : a.message}`),
          err ? h("div", { class: "login-error", role: "alert" }, tr.t("alert.ack.failed")) : null),
        action);
    }));
  }

  async acknowledge(alertId) {
    try {
      await this.api.ackAlert(alertId);
      this.ackErrors.delete(alertId);
      this.store.markAcknowledged(alertId);
    } catch (err) {
      this.ackErrors.set(alertId, err);
      this.renderAlerts();
    }
  }
}

new RegionPage().start();
