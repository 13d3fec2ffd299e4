// Free-bed search for referral desks: the filters of GET /api/v1/capacity/free, results
// with how fresh each row is (time, age, stale mark). Filters live in the URL so a desk
// can bookmark its usual search; results refresh every 30 s.

import { ApiClient, ApiError } from "./api.js";
import { askForToken, clearToken, ensureToken, getToken } from "./auth.js";
import { PageChrome } from "./chrome.js";
import { h, setText } from "./dom.js";
import { CARE_TYPES } from "./i18n.js";
import { REGIONS_BY_CODE, regionByCode } from "./regions.js";
import { SortableTable } from "./table.js";

const REFRESH_MS = 30_000;
const STALENESS_CHOICES = [null, 600, 1800, 3600, 4 * 3600];
const FILTERS = ["region", "hospital", "care_type", "specialty", "min_free", "max_staleness_s"];

class SearchPage {
  constructor() {
    this.hospitals = [];
    this.wards = [];
    this.result = null;
    this.receivedAt = 0;
    this.chrome = new PageChrome({
      titleKey: "search.title",
      onLanguageChange: () => this.renderAll(),
      nav: [{ href: "/", key: "nav.wall" }],
    });
  }

  get tr() {
    return this.chrome.tr;
  }

  async start() {
    this.buildLayout();
    this.chrome.mount();
    // This page has no live socket: the indicator tells whether the last query got through.
    this.chrome.setConnection({ state: "connecting", retryAt: null });
    this.readFiltersFromUrl();
    this.renderAll();
    await ensureToken(this.tr);
    this.api = new ApiClient({ getToken });
    const [hospitals, wards] = await Promise.all([
      this.api.hospitals().catch(() => []),
      this.api.wards().catch(() => []),
    ]);
    this.hospitals = hospitals;
    this.wards = wards;
    this.renderOptions();
    this.readFiltersFromUrl();
    await this.search();
    setInterval(() => {
      if (document.visibilityState === "visible") this.search();
    }, REFRESH_MS);
    setInterval(() => this.renderResults(), 5000);
  }

  buildLayout() {
    const field = (labelKey, control) => h("label", {}, h("span", { "data-i18n": labelKey }), control);
    this.regionSel = h("select", { name: "region", id: "f-region" });
    this.hospitalSel = h("select", { name: "hospital", id: "f-hospital" });
    this.careSel = h("select", { name: "care_type", id: "f-care-type" });
    this.specialtyIn = h("input", { name: "specialty", id: "f-specialty", list: "specialties", autocomplete: "off" });
    this.specialtyList = h("datalist", { id: "specialties" });
    this.minFreeIn = h("input", { name: "min_free", id: "f-min-free", type: "number", min: 1, value: 1 });
    this.staleSel = h("select", { name: "max_staleness_s", id: "f-max-staleness" });
    this.regionSel.addEventListener("change", () => this.renderHospitalOptions());
    this.form = h("form", { class: "search-form", role: "search" },
      field("search.region", this.regionSel),
      field("search.hospital", this.hospitalSel),
      field("search.caretype", this.careSel),
      field("search.specialty", this.specialtyIn),
      field("search.min_free", this.minFreeIn),
      field("search.max_staleness", this.staleSel),
      this.specialtyList,
      h("button", { type: "submit", class: "btn", "data-i18n": "search.submit" }));
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.writeFiltersToUrl();
      this.search();
    });
    this.meta = h("div", { class: "result-meta", id: "result-meta", role: "status" });
    this.errorEl = h("div", { class: "error-banner", role: "alert", hidden: true });
    this.table = new SortableTable({
      id: "results-table",
      sort: { key: "free", direction: "descending" },
      rowClass: (r) => (this.isStale(r) ? "is-stale" : ""),
      rowKey: (r) => r.ward_id,
      columns: [
        { key: "hospital", labelKey: "col.hospital", value: (r) => r.hospital_name },
        { key: "ward", labelKey: "col.ward", rowHeader: true, value: (r) => r.ward_name },
        { key: "region", labelKey: "col.region", value: (r) => regionByCode(r.region_code)?.short ?? r.region_code },
        { key: "caretype", labelKey: "col.caretype", value: (r) => this.tr.careType(r.care_type) },
        { key: "specialty", labelKey: "col.specialty", value: (r) => r.specialty },
        { key: "free", labelKey: "col.free", num: true, value: (r) => r.free_beds, render: (r, tr) => h("span", { class: "free-big" }, tr.int(r.free_beds)) },
        { key: "after", labelKey: "col.free_after_pending", num: true, value: (r) => r.free_after_pending, render: (r, tr) => tr.int(r.free_after_pending) },
        { key: "available", labelKey: "col.available", num: true, value: (r) => r.available_beds, render: (r, tr) => tr.int(r.available_beds) },
        { key: "occupied", labelKey: "col.occupied", num: true, value: (r) => r.occupied, render: (r, tr) => tr.int(r.occupied) },
        {
          key: "age", labelKey: "col.freshness", num: true, value: (r) => -this.ageOf(r),
          render: (r, tr) => h("span", {}, `${tr.hm(r.as_of)} · ${tr.age(this.ageOf(r))}`,
            this.isStale(r) ? h("span", { class: "row-stale" }, tr.t("stale")) : ""),
        },
      ],
    });
    document.body.append(h("main", { class: "desk-main" },
      h("section", { class: "panel", "aria-labelledby": "filters-title" },
        h("h2", { class: "panel-title sr-only", id: "filters-title", "data-i18n": "search.title" }), this.form),
      this.errorEl,
      h("section", { class: "panel", "aria-labelledby": "results-title" },
        h("h2", { class: "panel-title", id: "results-title" }),
        this.meta,
        h("div", { class: "table-wrap" }, this.table.el))));
  }

  /** Age now: the server's age plus the time since the answer came. */
  ageOf(row) {
    return (row.age_s ?? 0) + (Date.now() - this.receivedAt) / 1000;
  }

  isStale(row) {
    // The server decides staleness at answer time; the page keeps counting afterwards.
    return row.stale === true || (this.staleLimit(row) != null && this.ageOf(row) > this.staleLimit(row));
  }

  staleLimit(row) {
    const ward = this.wards.find((w) => w.ward_id === row.ward_id);
    return ward?.reporting_interval_s ? ward.reporting_interval_s + 30 : null;
  }

  renderOptions() {
    const tr = this.tr;
    const opt = (value, text) => h("option", { value }, text);
    const keep = (sel, build) => {
      const v = sel.value;
      sel.replaceChildren(...build());
      sel.value = v;
    };
    keep(this.regionSel, () => [opt("", tr.t("search.any")), ...REGIONS_BY_CODE.map((r) => opt(r.code, `${r.name}`))]);
    keep(this.careSel, () => [opt("", tr.t("search.any")), ...CARE_TYPES.map((ct) => opt(ct, tr.careType(ct)))]);
    keep(this.staleSel, () => STALENESS_CHOICES.map((s) => opt(s ?? "", s == null ? tr.t("search.stale_any") : tr.age(s))));
    const specialties = [...new Set(this.wards.map((w) => w.specialty).filter(Boolean))].sort();
    this.specialtyList.replaceChildren(...specialties.map((s) => h("option", { value: s })));
    this.renderHospitalOptions();
  }

  renderHospitalOptions() {
    const tr = this.tr;
    const v = this.hospitalSel.value;
    const region = this.regionSel.value;
    const list = this.hospitals
      .filter((x) => !region || x.region_code === region)
      .sort((a, b) => tr.compare(a.name, b.name));
    this.hospitalSel.replaceChildren(h("option", { value: "" }, tr.t("search.any")),
      ...list.map((x) => h("option", { value: x.hospital_id }, x.name)));
    this.hospitalSel.value = list.some((x) => x.hospital_id === v) ? v : "";
  }

  filters() {
    const data = new FormData(this.form);
    const out = {};
    for (const k of FILTERS) {
      const v = String(data.get(k) ?? "").trim();
      if (v) out[k] = v;
    }
    out.limit = 100;
    return out;
  }

  readFiltersFromUrl() {
    const q = new URLSearchParams(location.search);
    for (const k of FILTERS) {
      const el = this.form.elements.namedItem(k);
      if (el && q.has(k)) el.value = q.get(k);
    }
    this.renderHospitalOptions();
    const hospital = q.get("hospital");
    if (hospital) this.hospitalSel.value = hospital;
  }

  writeFiltersToUrl() {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(this.filters())) if (k !== "limit") q.set(k, String(v));
    history.replaceState(history.state, "", `${location.pathname}?${q}`);
  }

  async search() {
    try {
      this.result = await this.api.freeCapacity(this.filters());
      this.receivedAt = Date.now();
      this.errorEl.hidden = true;
      this.chrome.setConnection({ state: "open", retryAt: null });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        clearToken();
        await askForToken(this.tr, { rejected: true });
        return this.search();
      }
      setText(this.errorEl, this.tr.t("error.load", { detail: err instanceof Error ? err.message : String(err) }));
      this.errorEl.hidden = false;
      this.chrome.setConnection({ state: "closed", retryAt: null });
    }
    this.renderResults();
  }

  renderAll() {
    this.renderOptions();
    this.renderResults();
  }

  renderResults() {
    const tr = this.tr;
    const rows = this.result?.rows ?? [];
    setText(document.getElementById("results-title"), this.result
      ? (rows.length ? tr.t("search.results", { n: tr.int(rows.length) }) : tr.t("search.none"))
      : tr.t("search.title"));
    this.meta.replaceChildren(this.result
      ? h("span", {}, `${tr.t("search.asof")} ${tr.time(this.result.as_of)}`)
      : "");
    this.table.setRows(rows, tr);
    const newest = rows.reduce((best, r) => Math.max(best, Date.parse(r.as_of) || 0), 0);
    this.chrome.setNewest(newest || null, rows.length > 0 && rows.every((r) => this.isStale(r)));
  }
}

new SearchPage().start();
