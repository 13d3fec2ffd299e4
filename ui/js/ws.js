// The live connection (data layer, no rendering): one WebSocket to /ws that reconnects by
// itself with exponential backoff and jitter, and subscribes again to every scope after
// each reconnect (the server forgets subscriptions with the socket).
//
// Events: "status" (detail: {state, attempt, retryAt}), "message" (detail: parsed server
// message), "unauthorized" (the server refused the token: the page asks for a new one).

export const ConnState = Object.freeze({
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

export const DEFAULT_BACKOFF = Object.freeze({ initialMs: 1000, maxMs: 30000, factor: 2, jitter: 0.2 });

// Close codes by which the server says the token is not accepted (the API uses 4401, the
// 4000-range mirror of HTTP 401; 1008 is RFC 6455's generic policy violation).
const AUTH_CLOSE_CODES = new Set([1008, 4401]);

/** Delay before reconnect attempt number `attempt` (0-based), with +-jitter. */
export function backoffDelay(attempt, policy = DEFAULT_BACKOFF, random = Math.random) {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** attempt);
  const spread = base * policy.jitter;
  return Math.round(Math.max(0, base - spread + random() * 2 * spread));
}

/** ws(s)://host/ws for the page's own origin. */
export function defaultWsUrl(loc = globalThis.location) {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws`;
}

export class LiveConnection extends EventTarget {
  /**
   * @param {{url: string, getToken: () => string | null, scopes?: string[],
   *          backoff?: typeof DEFAULT_BACKOFF, WebSocketImpl?: typeof WebSocket}} opts
   */
  constructor({ url, getToken, scopes = [], backoff = DEFAULT_BACKOFF, WebSocketImpl }) {
    super();
    this.url = url;
    this.getToken = getToken;
    this.scopes = new Set(scopes);
    this.backoff = backoff;
    this.WebSocketImpl = WebSocketImpl ?? globalThis.WebSocket;
    this.state = ConnState.CLOSED;
    this.attempt = 0;
    this.retryAt = null;
    /** @type {WebSocket | null} */
    this.ws = null;
    this._timer = null;
    this._stopped = true;
    this._onOnline = () => this._reconnectNow();
  }

  start() {
    if (!this._stopped) return;
    this._stopped = false;
    globalThis.addEventListener?.("online", this._onOnline);
    this._connect();
  }

  stop() {
    this._stopped = true;
    globalThis.removeEventListener?.("online", this._onOnline);
    clearTimeout(this._timer);
    this.ws?.close(1000, "page closed");
    this.ws = null;
    this._setState(ConnState.CLOSED);
  }

  /** @param {string[]} scopes */
  subscribe(scopes) {
    const fresh = scopes.filter((s) => !this.scopes.has(s));
    for (const s of fresh) this.scopes.add(s);
    if (fresh.length) this._send({ op: "subscribe", scopes: fresh });
  }

  /** @param {string[]} scopes */
  unsubscribe(scopes) {
    const gone = scopes.filter((s) => this.scopes.has(s));
    for (const s of gone) this.scopes.delete(s);
    if (gone.length) this._send({ op: "unsubscribe", scopes: gone });
  }

  _send(obj) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(obj));
  }

  _setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("status", {
      detail: { state, attempt: this.attempt, retryAt: this.retryAt },
    }));
  }

  _connect() {
    clearTimeout(this._timer);
    this.retryAt = null;
    this._setState(this.attempt === 0 ? ConnState.CONNECTING : ConnState.RECONNECTING);
    const token = this.getToken();
    const url = token ? `${this.url}?token=${encodeURIComponent(token)}` : this.url;
    let ws;
    try {
      ws = new this.WebSocketImpl(url);
    } catch {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this._setState(ConnState.OPEN);
      if (this.scopes.size) this._send({ op: "subscribe", scopes: [...this.scopes] });
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      // Only a connection that delivers data counts as recovered; one that opens and is
      // closed at once (e.g. a server still starting) keeps growing the backoff.
      this.attempt = 0;
      let msg;
      try {
        msg = JSON.parse(typeof ev.data === "string" ? ev.data : "");
      } catch {
        return;
      }
      // "forbidden" only refuses one scope to this role; the token itself is fine.
      if (msg?.type === "error" && msg.code === "unauthorized") {
        this.dispatchEvent(new CustomEvent("unauthorized", { detail: msg }));
      }
      this.dispatchEvent(new CustomEvent("message", { detail: msg }));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this._stopped) return;
      if (AUTH_CLOSE_CODES.has(ev.code)) {
        this.dispatchEvent(new CustomEvent("unauthorized", { detail: { code: ev.code } }));
      }
      this._scheduleReconnect();
    };
    // onerror is always followed by onclose, which does the work.
    ws.onerror = () => {};
  }

  _scheduleReconnect() {
    const delay = backoffDelay(this.attempt, this.backoff);
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this._setState(ConnState.RECONNECTING);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  /** Reconnect at once (network came back, or a new token was entered). */
  _reconnectNow() {
    if (this._stopped || this.state === ConnState.OPEN) return;
    clearTimeout(this._timer);
    this._connect();
  }

  /** Drop the socket and connect again at once, e.g. with a new token. */
  restart() {
    const old = this.ws;
    this.ws = null;
    old?.close(1000, "reconnecting");
    this.attempt = 0;
    if (!this._stopped) this._connect();
  }
}
