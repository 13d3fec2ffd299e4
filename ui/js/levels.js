// Pressure levels 1-4 as the pages show them: a number, a shape and a colour, so that
// colour is never the only carrier of meaning (and the shapes differ in greyscale too).

import { h } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// 1 circle (calm), 2 triangle (warning), 3 diamond, 4 square with an exclamation mark cut
// out (evenodd), which stays distinct from the circle even at small sizes.
const SHAPES = {
  1: { tag: "circle", attrs: { cx: 12, cy: 12, r: 9 } },
  2: { tag: "polygon", attrs: { points: "12,2.5 22,20.5 2,20.5" } },
  3: { tag: "polygon", attrs: { points: "12,1.5 22.5,12 12,22.5 1.5,12" } },
  4: {
    tag: "path",
    attrs: {
      "fill-rule": "evenodd",
      d: "M2 2H22V22H2Z M10 5H14L13.3 14.5H10.7Z M10.2 16.6H13.8V20H10.2Z",
    },
  },
};

export function levelIcon(level) {
  const s = SHAPES[level];
  const el = document.createElementNS(SVG_NS, "svg");
  el.setAttribute("viewBox", "0 0 24 24");
  el.setAttribute("class", "level-icon");
  el.setAttribute("aria-hidden", "true");
  el.setAttribute("focusable", "false");
  if (s) {
    const shape = document.createElementNS(SVG_NS, s.tag);
    for (const [k, v] of Object.entries(s.attrs)) shape.setAttribute(k, String(v));
    el.append(shape);
  } else {
    const q = document.createElementNS(SVG_NS, "circle");
    q.setAttribute("cx", "12");
    q.setAttribute("cy", "12");
    q.setAttribute("r", "9");
    q.setAttribute("class", "unknown");
    el.append(q);
  }
  return el;
}

/**
 * A badge: icon + level number (+ optional name). Re-renders in place.
 * @param {HTMLElement | null} el existing badge to update, or null for a new one
 * @param {number | null | undefined} level
 * @param {import("./i18n.js").Translator} tr
 * @param {{withName?: boolean, stale?: boolean}} [opts]
 */
export function levelBadge(el, level, tr, { withName = false, stale = false } = {}) {
  const badge = el ?? h("span", { class: "badge" });
  const lv = level >= 1 && level <= 4 ? level : null;
  // Pages re-render every second for freshness: leave an unchanged badge alone.
  const key = `${lv}|${stale}|${withName}|${tr.lang}`;
  if (badge.dataset.key === key) return badge;
  badge.dataset.key = key;
  badge.className = `badge ${lv ? `lvl-${lv}` : "lvl-none"}${stale ? " is-stale" : ""}`;
  badge.dataset.level = lv ? String(lv) : "";
  const label = lv ? `${tr.t("level.label")} ${lv} ${tr.levelName(lv)}` : tr.t("level.unknown");
  badge.setAttribute("title", label);
  const num = h("span", { class: "badge-num" }, lv ? String(lv) : "?");
  const parts = [levelIcon(lv), num];
  if (withName) parts.push(h("span", { class: "badge-name" }, lv ? tr.levelName(lv) : tr.t("level.unknown")));
  badge.replaceChildren(...parts);
  return badge;
}
