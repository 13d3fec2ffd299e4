// When a value may be shown as current. DOMAIN.md: "a ward silent past its expected
// interval is stale and shown as such, not as zero", and "a national figure built on
// 60 % of wards must say so". A rollup is therefore marked stale when its newest data is
// older than the allowed age or when too few of its wards reported in time.

/** Defaults; a wall can override them with ?stale_after=<s>&min_coverage=<0..1>. */
export const DEFAULT_FRESHNESS = Object.freeze({
  // Wards report every few minutes (reference data: reporting_interval_s); a scope whose
  // newest event is older than 15 min has stopped reporting as a whole.
  staleAfterS: 900,
  // Below this share of wards reporting, the figure no longer describes the scope.
  minCoverage: 0.75,
});

/**
 * @typedef {{stale: boolean, reason: null | "age" | "coverage" | "flag" | "nodata",
 *            ageS: number | null, coverage: number | null}} Freshness
 */

/**
 * @param {{as_of?: string, reporting_coverage?: number | null, stale?: boolean,
 *          expected_interval_s?: number} | null | undefined} msg a ScopeRollup or WardState
 * @param {number} nowMs
 * @param {{staleAfterS: number, minCoverage: number}} [opts]
 * @returns {Freshness}
 */
export function freshnessOf(msg, nowMs, opts = DEFAULT_FRESHNESS) {
  if (!msg || !msg.as_of) return { stale: true, reason: "nodata", ageS: null, coverage: null };
  const ageS = Math.max(0, (nowMs - Date.parse(msg.as_of)) / 1000);
  const coverage = msg.reporting_coverage ?? null;
  // A ward state knows its own interval (plus a little grace for transport, so a ward that
  // is just on time does not flicker); a rollup uses the configured allowance.
  const limit = msg.expected_interval_s != null
    ? msg.expected_interval_s + 30
    : opts.staleAfterS;
  if (msg.stale === true) return { stale: true, reason: "flag", ageS, coverage };
  if (ageS > limit) return { stale: true, reason: "age", ageS, coverage };
  if (coverage != null && coverage < opts.minCoverage) {
    return { stale: true, reason: "coverage", ageS, coverage };
  }
  return { stale: false, reason: null, ageS, coverage };
}

/** Newest `as_of` among messages, as epoch ms (null when none has one). */
export function newestAsOf(messages) {
  let best = null;
  for (const m of messages) {
    if (!m?.as_of) continue;
    const t = Date.parse(m.as_of);
    if (!Number.isNaN(t) && (best == null || t > best)) best = t;
  }
  return best;
}

/** Read freshness overrides from a query string. */
export function freshnessFromQuery(search) {
  const q = new URLSearchParams(search);
  const staleAfter = Number(q.get("stale_after"));
  const minCov = Number(q.get("min_coverage"));
  return {
    staleAfterS: staleAfter > 0 ? staleAfter : DEFAULT_FRESHNESS.staleAfterS,
    minCoverage: minCov > 0 && minCov <= 1 ? minCov : DEFAULT_FRESHNESS.minCoverage,
  };
}
