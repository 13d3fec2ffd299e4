// The live state the pages render: the latest message per key, fed by WebSocket
// snapshots and updates (and by REST answers). No DOM here, so node tests can drive it.

/** @param {any} m */
function rollupKey(m) {
  return `${m.scope_id}:${m.care_type}`;
}

export class LiveStore extends EventTarget {
  constructor() {
    super();
    /** @type {Map<string, any>} `<scope_id>:<care_type>` -> ScopeRollup */
    this.rollups = new Map();
    /** @type {Map<string, any>} ward id -> WardState */
    this.wards = new Map();
    /** @type {Map<string, any>} alert id -> newest AlertEvent (+ acknowledged flag) */
    this.alerts = new Map();
  }

  /**
   * Apply one server message (version 1 of the WebSocket format).
   * @param {any} msg
   * @returns {boolean} whether anything changed
   */
  applyServerMessage(msg) {
    if (!msg || msg.v !== 1) return false;
    if (msg.type === "snapshot" && Array.isArray(msg.items)) {
      let changed = false;
      for (const item of msg.items) changed = this._put(item) || changed;
      this._emit();
      return changed;
    }
    if (msg.type === "update" && msg.data) {
      const changed = this._put(msg.data);
      if (changed) this._emit();
      return changed;
    }
    if (msg.type === "remove" && typeof msg.key === "string") {
      // A tombstone upstream (e.g. a ward removed from the reference data): forget the key.
      const changed = this.rollups.delete(msg.key) || this.wards.delete(msg.key) || this.alerts.delete(msg.key);
      if (changed) this._emit();
      return changed;
    }
    return false;
  }

  /** Put messages that came over REST (state, alerts). */
  putAll(items) {
    let changed = false;
    for (const item of items) changed = this._put(item) || changed;
    if (changed) this._emit();
    return changed;
  }

  _put(m) {
    if (!m || typeof m !== "object") return false;
    switch (m.kind) {
      case "rollup":
        return putNewer(this.rollups, rollupKey(m), m, (x) => x.version);
      case "ward_state":
        return putNewer(this.wards, m.ward_id, m, (x) => x.version);
      case "alert": {
        const prev = this.alerts.get(m.alert_id);
        // REST rows carry an `acknowledged` flag; lifecycle events say it by their state. An
        // escalation needs a new acknowledgement, a de-escalation keeps the old one.
        let acknowledged = m.acknowledged;
        if (acknowledged == null) {
          acknowledged = m.state === "acknowledged"
            || (prev?.acknowledged === true && m.state === "deescalated");
        }
        return putNewer(this.alerts, m.alert_id, { ...m, acknowledged }, (x) => x.sequence);
      }
      default:
        return false;
    }
  }

  _emit() {
    this.dispatchEvent(new Event("change"));
  }

  /** @param {string} scopeId @param {string} [careType] */
  rollup(scopeId, careType = "all") {
    return this.rollups.get(`${scopeId}:${careType}`);
  }

  /** Rollups of one kind of scope ("region:" or "hospital:") for a care type. */
  rollupsWithPrefix(prefix, careType = "all") {
    const out = [];
    for (const r of this.rollups.values()) {
      if (r.scope_id.startsWith(prefix) && r.care_type === careType) out.push(r);
    }
    return out;
  }

  wardsOfRegion(code) {
    return [...this.wards.values()].filter((w) => w.region_code === code);
  }

  /** Alerts newest change first; resolved ones only when asked for. */
  alertList({ region = null, includeResolved = false } = {}) {
    return [...this.alerts.values()]
      .filter((a) => includeResolved || a.state !== "resolved")
      .filter((a) => region == null || a.region_code === region)
      .sort((a, b) => Date.parse(b.occurred_at) - Date.parse(a.occurred_at));
  }

  markAcknowledged(alertId) {
    const a = this.alerts.get(alertId);
    if (a) {
      this.alerts.set(alertId, { ...a, acknowledged: true });
      this._emit();
    }
  }
}

/**
 * Replace unless the new message is older. Equal versions replace (a resend after a
 * reconnect); a lower version with a newer event time also replaces, so that a producer
 * whose counters restarted cannot freeze a screen.
 */
function putNewer(map, key, value, versionOf) {
  const prev = map.get(key);
  if (prev) {
    const pv = versionOf(prev);
    const nv = versionOf(value);
    const newerTime = Date.parse(value.as_of ?? value.occurred_at) > Date.parse(prev.as_of ?? prev.occurred_at);
    if (pv != null && nv != null && nv < pv && !newerTime) return false;
  }
  map.set(key, value);
  return true;
}
