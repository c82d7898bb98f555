-- Notifications that leave Baton. Each channel a notification goes out on
-- (a webhook of its metaservice, the recipient's e-mail) is a row of this
-- outbox, written in the commit that writes the notification, claimed
-- with a lease like an event, and retried with backoff until it is sent or
-- gives up ('failed', which an admin can resend).
ALTER TABLE users ADD COLUMN email_notifications INTEGER NOT NULL DEFAULT 1;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    -- The webhook's name, or the e-mail address as it was at the commit.
    target          TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_at, id);
CREATE INDEX deliveries_by_notification ON deliveries (notification_id);
