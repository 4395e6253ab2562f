-- Webhooks (v2 §8): subscriptions, and the outbox of their events.
--
-- A subscription's signing secret is kept in clear: every delivery is signed with it, so it
-- must be readable by the server (the database is the trust boundary, as for the data the
-- events describe). After a rotation the secret replaced is kept, with the end of its 24 hours,
-- so that deliveries carry both signatures until then.
CREATE TABLE webhook_subscriptions (
    id                    TEXT PRIMARY KEY,
    company_id            TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    event_type            TEXT NOT NULL,
    name                  TEXT NOT NULL,
    url                   TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    created_at            BIGINT NOT NULL,
    modified_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX webhook_subscriptions_target
    ON webhook_subscriptions (company_id, event_type, url);
CREATE INDEX webhook_subscriptions_company ON webhook_subscriptions (company_id, id);
-- The outbox: one row per event and subscription, written in the transaction of the change it
-- reports, with the body to deliver fixed then. `status` is the one the event log answers:
-- `pending` (an attempt is due at `next_attempt_at`), `sending` (a worker holds it until
-- `lease_until`: past that, another worker takes it back), `delivered`, `failed`. `attempts`
-- counts every attempt made (they are numbered by it); `tries` those of the current round,
-- which the retry schedule follows (a retry asked for through the API starts a new round).
CREATE TABLE webhook_events (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    company_id      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    claim           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    tries           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_lease ON webhook_events (status, lease_until);
CREATE INDEX webhook_events_subscription ON webhook_events (subscription_id, id);
CREATE INDEX webhook_events_claim ON webhook_events (claim);
-- Each attempt, for the record: when, and the status answered or the failure.
CREATE TABLE webhook_attempts (
    event_id    TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    at          BIGINT NOT NULL,
    status_code INTEGER,
    error       TEXT,
    PRIMARY KEY (event_id, number)
)
