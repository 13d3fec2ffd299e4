-- Tables owned by the API (tokens, webhooks, acknowledgements). Applied by the API at
-- startup under an advisory lock; every statement is idempotent, so re-running is a no-op.

CREATE TABLE IF NOT EXISTS api_tokens (
    token_id    bigserial PRIMARY KEY,
    name        text        NOT NULL,
    role        text        NOT NULL,
    -- HMAC-SHA256(token_pepper, token), hex: the token itself is never stored
    token_hash  text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE IF NOT EXISTS api_webhooks (
    webhook_id  bigserial PRIMARY KEY,
    -- NULL: every alert (a national endpoint, registered by an admin)
    region_code text CHECK (region_code IS NULL OR region_code ~ '^[0-9]{2}$'),
    url         text        NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    active      boolean     NOT NULL DEFAULT true
);

-- One row per (endpoint, alert event): whichever API replica inserts it first delivers.
CREATE TABLE IF NOT EXISTS api_webhook_claims (
    webhook_id  bigint      NOT NULL REFERENCES api_webhooks (webhook_id) ON DELETE CASCADE,
    alert_id    uuid        NOT NULL,
    sequence    integer     NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    outcome     text,       -- NULL while in progress; delivered | gave_up
    PRIMARY KEY (webhook_id, alert_id, sequence)
);

-- Every delivery attempt, successful or not.
CREATE TABLE IF NOT EXISTS api_webhook_attempts (
    attempt_id   bigserial PRIMARY KEY,
    webhook_id   bigint      NOT NULL REFERENCES api_webhooks (webhook_id) ON DELETE CASCADE,
    alert_id     uuid        NOT NULL,
    sequence     integer     NOT NULL,
    attempt      integer     NOT NULL,
    attempted_at timestamptz NOT NULL,
    outcome      text        NOT NULL,  -- delivered | http_error | network_error
    status_code  integer,
    error        text,
    duration_ms  double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS api_webhook_attempts_by_webhook
    ON api_webhook_attempts (webhook_id, attempted_at DESC);

CREATE TABLE IF NOT EXISTS api_alert_acks (
    alert_id        uuid        NOT NULL,
    sequence        integer     NOT NULL,
    acknowledged_by text        NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    PRIMARY KEY (alert_id, sequence)
);
