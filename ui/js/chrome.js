// What every page shares: the header (title, newest-data time, connection indicator,
// language switch, clock), static text by data-i18n keys, and the once-a-second tick.

import { h, setText } from "./dom.js";
import { Translator, currentLanguage, setLanguage } from "./i18n.js";
import { ConnState } from "./ws.js";

/** Fill every element that has data-i18n="key" (and data-i18n-attr="aria-label" etc.). */
export function applyStaticText(root, tr) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const key = el.getAttribute("data-i18n");
    const attr = el.getAttribute("data-i18n-attr");
    if (attr) el.setAttribute(attr, tr.t(key));
    else setText(el, tr.t(key));
  }
}

export class PageChrome {
  /**
   * @param {{titleKey: string, onLanguageChange: (tr: Translator) => void,
   *          nav?: {href: string, key: string}[]}} opts
   */
  constructor({ titleKey, onLanguageChange, nav = [] }) {
    this.titleKey = titleKey;
    this.onLanguageChange = onLanguageChange;
    this.tr = new Translator(currentLanguage());
    this.conn = { state: ConnState.CONNECTING, retryAt: null };
    this.newestMs = null;
    this.newestStale = false;

    this.titleEl = h("h1", { class: "page-title" });
    this.newestEl = h("div", { class: "newest", id: "newest-data", "aria-live": "off" });
    this.connText = h("span", { class: "conn-text" });
    this.connEl = h("div", { class: "conn", id: "connection", role: "status" },
      h("span", { class: "conn-dot", "aria-hidden": "true" }), this.connText);
    this.langBtn = h("button", { type: "button", class: "btn lang-switch", id: "lang-switch" });
    this.langBtn.addEventListener("click", () => this.switchLanguage());
    this.clockEl = h("time", { class: "clock", id: "clock" });
    this.navEl = h("nav", { class: "nav" },
      ...nav.map((n) => h("a", { href: n.href, "data-i18n": n.key })));
    this.header = h("header", { class: "page-header" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "capmon"),
      this.titleEl,
      this.navEl,
      h("div", { class: "header-status" }, this.newestEl, this.connEl, this.langBtn, this.clockEl),
    );
  }

  mount(parent = document.body) {
    parent.prepend(this.header);
    this.applyLanguage();
    setInterval(() => this.tick(), 1000);
    this.tick();
  }

  switchLanguage() {
    const next = this.tr.lang === "sv" ? "en" : "sv";
    setLanguage(next);
    this.tr = new Translator(next);
    this.applyLanguage();
    this.onLanguageChange(this.tr);
  }

  applyLanguage() {
    document.documentElement.lang = this.tr.lang;
    setText(this.titleEl, this.tr.t(this.titleKey));
    document.title = `${this.tr.t(this.titleKey)} · capmon`;
    setText(this.langBtn, this.tr.t("lang.switch"));
    this.langBtn.setAttribute("lang", this.tr.lang === "sv" ? "en" : "sv");
    this.langBtn.setAttribute("title", this.tr.t("lang.switch.label"));
    applyStaticText(document, this.tr);
    this.tick();
  }

  /** @param {{state: string, retryAt: number | null}} status */
  setConnection(status) {
    this.conn = status;
    this.renderConnection();
  }

  renderConnection() {
    const { state, retryAt } = this.conn;
    this.connEl.dataset.state = state;
    let text;
    if (state === ConnState.OPEN) text = this.tr.t("conn.open");
    else if (state === ConnState.CONNECTING) text = this.tr.t("conn.connecting");
    else if (state === ConnState.RECONNECTING && retryAt != null) {
      text = this.tr.t("conn.reconnecting", { s: Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) });
    } else if (state === ConnState.RECONNECTING) text = `${this.tr.t("conn.closed")} – ${this.tr.t("conn.connecting")}`;
    else text = this.tr.t("conn.closed");
    setText(this.connText, text);
  }

  /** @param {number | null} ms newest event time shown on the page @param {boolean} stale */
  setNewest(ms, stale) {
    this.newestMs = ms;
    this.newestStale = stale;
    this.renderNewest();
  }

  renderNewest() {
    const tr = this.tr;
    if (this.newestMs == null) {
      this.newestEl.replaceChildren(h("span", { class: "newest-label" }, tr.t("data.none")));
      this.newestEl.dataset.stale = "true";
      return;
    }
    const ageS = (Date.now() - this.newestMs) / 1000;
    this.newestEl.dataset.stale = String(this.newestStale);
    const parts = [
      h("span", { class: "newest-label" }, tr.t("data.newest")),
      h("span", { class: "newest-time" }, tr.time(this.newestMs)),
      h("span", { class: "newest-age" }, tr.t("data.age", { age: tr.age(ageS) })),
    ];
    if (this.newestStale) parts.push(h("span", { class: "stale-chip" }, tr.t("stale")));
    this.newestEl.replaceChildren(...parts);
  }

  tick() {
    setText(this.clockEl, this.tr.hm(Date.now()));
    this.clockEl.setAttribute("datetime", new Date().toISOString());
    this.renderConnection();
    this.renderNewest();
  }
}
