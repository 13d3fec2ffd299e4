// Occupancy against target per care type: one bar row per care type, shared by the wall
// (nation) and the region page (one region).
import { h, setText } from "./dom.js";
import { freshnessOf } from "./freshness.js";
import { CARE_TYPES } from "./i18n.js";
import { levelBadge } from "./levels.js";

// Bars run to 120 %: above that the number says it; the bar must not jump off the row.
const scale = (v) => `${Math.min(100, ((v ?? 0) / 1.2) * 100).toFixed(1)}%`;

export class CareRows {
  constructor() {
    this.rows = new Map();
    this.el = h("div", { class: "care-list" });
    for (const ct of CARE_TYPES) {
      const row = {
        name: h("div", { class: "care-name" }),
        fill: h("div", { class: "bar-fill" }),
        target: h("div", { class: "bar-target" }),
        value: h("div", { class: "care-value" }),
        goal: h("div", { class: "care-goal" }),
        badge: h("span", { class: "badge" }),
      };
      row.el = h("div", { class: "care-row", "data-care-type": ct },
        row.name,
        h("div", { class: "bar", "aria-hidden": "true" }, row.fill, h("div", { class: "bar-full" }), row.target),
        h("div", { class: "care-figs" }, row.value, row.goal),
        row.badge);
      this.rows.set(ct, row);
      this.el.append(row.el);
    }
  }

  // scope: "nation" or "region:<code>"; store: LiveStore; tr: the page's translator.
  render(store, scope, now, freshness, tr) {
    for (const [ct, row] of this.rows) {
      const r = store.rollup(scope, ct);
      const f = freshnessOf(r, now, freshness);
      const occ = r?.measures?.occupancy;
      setText(row.name, tr.careType(ct));
      row.fill.style.width = scale(occ);
      row.target.style.left = scale(r?.target);
      row.target.hidden = r?.target == null;
      row.el.className = `care-row${r?.pressure_level ? ` lvl-${r.pressure_level}` : ""}${f.stale && r ? " is-stale" : ""}`;
      row.el.dataset.stale = String(f.stale);
      setText(row.value, tr.pct(occ));
      setText(row.goal, r ? (f.stale ? `${tr.t("stale")} · ${tr.age(f.ageS)}` : tr.t("tile.target", { v: tr.pct(r.target) })) : "");
      levelBadge(row.badge, r?.pressure_level, tr, { stale: f.stale });
    }
  }
}
