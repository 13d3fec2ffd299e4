// REST client for /api/v1 (the data layer: no rendering here). Every call sends the
// bearer token; a 401 is reported as an ApiError with status 401 so the page can ask for
// a new token.

export class ApiError extends Error {
  /** @param {number} status @param {string} detail */
  constructor(status, detail) {
    super(`HTTP ${status}: ${detail}`);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

/** Reference endpoints may answer a bare list or an object holding one; accept both. */
export function listOf(body, ...keys) {
  if (Array.isArray(body)) return body;
  for (const k of [...keys, "items", "rows", "data"]) {
    if (body && Array.isArray(body[k])) return body[k];
  }
  return [];
}

export class ApiClient {
  /**
   * @param {{baseUrl?: string, getToken: () => string | null, fetchImpl?: typeof fetch}} opts
   */
  constructor({ baseUrl = "", getToken, fetchImpl }) {
    this.baseUrl = baseUrl;
    this.getToken = getToken;
    this.fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * @param {"GET" | "POST"} method
   * @param {string} path under /api/v1
   * @param {{params?: Record<string, string | number | boolean | null | undefined>, body?: unknown}} [opts]
   */
  async request(method, path, { params, body } = {}) {
    const url = new URL(`${this.baseUrl}/api/v1${path}`, globalThis.location?.href ?? "http://localhost/");
    for (const [k, v] of Object.entries(params ?? {})) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, String(v));
    }
    const headers = { Accept: "application/json" };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await this.fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, err instanceof Error ? err.message : String(err));
    }
    const text = await resp.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!resp.ok) {
      const detail = typeof json?.detail === "string" ? json.detail : resp.statusText || "error";
      throw new ApiError(resp.status, detail);
    }
    return json;
  }

  state(scopeId) {
    return this.request("GET", `/state/${encodeURIComponent(scopeId)}`);
  }

  /** @param {string} scopeId @param {{careType?: string, bucket?: string, start?: Date, end?: Date}} q */
  history(scopeId, { careType = "all", bucket = "1h", start, end } = {}) {
    return this.request("GET", `/history/${encodeURIComponent(scopeId)}`, {
      params: {
        care_type: careType,
        bucket,
        start: start?.toISOString(),
        end: end?.toISOString(),
      },
    });
  }

  alerts({ active = true, region = null, limit = 50 } = {}) {
    return this.request("GET", "/alerts", { params: { active, region, limit } });
  }

  ackAlert(alertId) {
    return this.request("POST", `/alerts/${encodeURIComponent(alertId)}/ack`);
  }

  /** Filters exactly as GET /api/v1/capacity/free takes them. */
  freeCapacity(filters) {
    return this.request("GET", "/capacity/free", { params: filters });
  }

  regions() {
    return this.request("GET", "/reference/regions").then((b) => listOf(b, "regions"));
  }

  hospitals() {
    return this.request("GET", "/reference/hospitals").then((b) => listOf(b, "hospitals"));
  }

  wards() {
    return this.request("GET", "/reference/wards").then((b) => listOf(b, "wards"));
  }

  /** Who the token belongs to: {role}. Null when the server cannot say (then no ack buttons). */
  async whoami() {
    try {
      const body = await this.request("GET", "/whoami");
      return body && typeof body.role === "string" ? body : null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw err;
      return null;
    }
  }
}

/** May this role acknowledge alerts of this region? (mirrors the API's own check) */
export function canAcknowledge(role, regionCode) {
  if (!role) return false;
  return role === "national" || role === "admin" || role === `region:${regionCode}`;
}
