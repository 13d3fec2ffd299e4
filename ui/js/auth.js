// The bearer token: given once (?token= in a wall screen's URL, or the login form), kept
// in sessionStorage for this tab, and removed from the address bar at once so it does not
// end up in screenshots, bookmarks or the browser history.

import { h } from "./dom.js";

const KEY = "capmon.token";

/** Move ?token= from the URL into sessionStorage. Returns whether a token was found. */
export function captureTokenFromUrl(loc = window.location, hist = window.history, storage = window.sessionStorage) {
  const url = new URL(loc.href);
  const token = url.searchParams.get("token");
  if (!token) return false;
  storage.setItem(KEY, token);
  url.searchParams.delete("token");
  hist.replaceState(hist.state, "", `${url.pathname}${url.search}${url.hash}`);
  return true;
}

export function getToken(storage = window.sessionStorage) {
  try {
    return storage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token, storage = window.sessionStorage) {
  storage.setItem(KEY, token);
}

export function clearToken(storage = window.sessionStorage) {
  storage.removeItem(KEY);
}

/**
 * Ask for a token with a small modal form; resolves with the token once entered.
 * @param {import("./i18n.js").Translator} tr
 * @param {{rejected?: boolean}} [opts]
 * @returns {Promise<string>}
 */
export function askForToken(tr, { rejected = false } = {}) {
  document.getElementById("login-dialog")?.remove();
  return new Promise((resolve) => {
    const input = h("input", {
      id: "login-token", name: "token", type: "password", autocomplete: "off", required: true,
      spellcheck: "false",
    });
    const form = h("form", { method: "dialog", class: "login-form" },
      h("h2", { id: "login-title" }, tr.t("login.title")),
      h("p", {}, tr.t("login.help")),
      rejected ? h("p", { class: "login-error", role: "alert" }, tr.t("login.rejected")) : null,
      h("label", { for: "login-token" }, tr.t("login.token")),
      input,
      h("button", { type: "submit", class: "btn" }, tr.t("login.submit")),
    );
    const dialog = h("dialog", { id: "login-dialog", "aria-labelledby": "login-title" }, form);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const token = /** @type {HTMLInputElement} */ (input).value.trim();
      if (!token) return;
      setToken(token);
      dialog.close();
      dialog.remove();
      resolve(token);
    });
    // Without a token nothing works: the dialog cannot be dismissed with Escape.
    dialog.addEventListener("cancel", (ev) => ev.preventDefault());
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/** A token from the URL or this tab's storage, or from the login form. */
export async function ensureToken(tr) {
  captureTokenFromUrl();
  return getToken() ?? askForToken(tr);
}
