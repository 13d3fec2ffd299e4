// Tiny DOM helpers: enough to build pages by hand without a framework.

/**
 * h("div", {class: "x", onclick: fn}, child, "text")
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An <svg> element with the given attributes. */
export function svg(attrs = {}) {
  const el = document.createElementNS(SVG_NS, "svg");
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Set text only when it changed (keeps screen readers and layout calm). */
export function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

/** Schedule `fn` once per task however many times it is asked for. */
export function coalesce(fn, delayMs = 30) {
  let pending = null;
  return () => {
    if (pending != null) return;
    pending = setTimeout(() => {
      pending = null;
      fn();
    }, delayMs);
  };
}
