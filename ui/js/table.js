// A sortable data table: headers are buttons (keyboard accessible), the sorted column
// carries aria-sort, and live re-renders keep the chosen order and the focus.

import { h, setText } from "./dom.js";
import { sortRows } from "./sort.js";

/**
 * @typedef {{key: string, labelKey: string, num?: boolean, rowHeader?: boolean,
 *            value: (row: any) => string | number | null | undefined,
 *            render?: (row: any, tr: any) => Node | string}} Column
 */

export class SortableTable {
  /**
   * @param {{id: string, columns: Column[], sort: {key: string, direction: "ascending" | "descending"},
   *          captionKey?: string, rowClass?: (row: any) => string, rowKey?: (row: any) => string}} opts
   */
  constructor({ id, columns, sort, captionKey, rowClass, rowKey }) {
    this.columns = columns;
    this.sort = { ...sort };
    this.rowClass = rowClass ?? (() => "");
    this.rowKey = rowKey ?? (() => "");
    this.rows = [];
    this.tr = null;
    this.headerButtons = new Map();
    const headRow = h("tr");
    for (const col of columns) {
      const label = h("span", { class: "sort-label" });
      const ind = h("span", { class: "sort-ind", "aria-hidden": "true" });
      const btn = h("button", { type: "button", class: "sort-btn", "data-sort-key": col.key }, label, ind);
      btn.addEventListener("click", () => this.sortBy(col.key));
      const th = h("th", { scope: "col", class: col.num ? "num" : "", "data-key": col.key }, btn);
      this.headerButtons.set(col.key, { th, label, ind });
      headRow.append(th);
    }
    this.caption = captionKey ? h("caption", { "data-i18n": "sort.hint" }) : null;
    this.tbody = h("tbody");
    this.el = h("table", { class: "data", id }, this.caption, h("thead", {}, headRow), this.tbody);
  }

  sortBy(key) {
    if (this.sort.key === key) {
      this.sort.direction = this.sort.direction === "ascending" ? "descending" : "ascending";
    } else {
      const col = this.columns.find((c) => c.key === key);
      // Numbers are most useful largest first; names alphabetically.
      this.sort = { key, direction: col?.num ? "descending" : "ascending" };
    }
    this.render();
  }

  setRows(rows, tr) {
    this.rows = rows;
    this.tr = tr;
    this.render();
  }

  render() {
    const tr = this.tr;
    if (!tr) return;
    for (const col of this.columns) {
      const hb = this.headerButtons.get(col.key);
      setText(hb.label, tr.t(col.labelKey));
      if (col.key === this.sort.key) {
        hb.th.setAttribute("aria-sort", this.sort.direction);
        setText(hb.ind, this.sort.direction === "ascending" ? "▲" : "▼");
      } else {
        hb.th.removeAttribute("aria-sort");
        setText(hb.ind, "");
      }
    }
    const col = this.columns.find((c) => c.key === this.sort.key) ?? this.columns[0];
    const sorted = sortRows(this.rows, col.value, this.sort.direction, (a, b) => tr.compare(a, b));
    this.tbody.replaceChildren(...sorted.map((row) => {
      const cells = this.columns.map((c) => {
        const content = c.render ? c.render(row, tr) : String(c.value(row) ?? "–");
        const attrs = { class: c.num ? "num" : "", "data-key": c.key };
        return c.rowHeader ? h("th", { ...attrs, scope: "row" }, content) : h("td", attrs, content);
      });
      return h("tr", { class: this.rowClass(row), "data-row-key": this.rowKey(row) }, ...cells);
    }));
  }
}
