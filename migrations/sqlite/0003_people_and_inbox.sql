-- People, tokens, notifications and settings overrides (the REST API).

-- Tokens are random and shown once; only their SHA-256 is stored.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- A user's inbox: one row per recipient (a group's members each get one).
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ticket_id   INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    read_at     INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX notifications_inbox ON notifications (user_id, read_at, id);

-- Settings changed through the admin API win over the manifest's, and every
-- change is kept.
ALTER TABLE ticket_types ADD COLUMN settings_override TEXT;
CREATE TABLE settings_changes (
    id          INTEGER PRIMARY KEY,
    metaservice TEXT NOT NULL,
    ticket_type TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    old         TEXT NOT NULL,
    new         TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Visibility and `mine` start from the stakeholder side.
CREATE INDEX stakeholders_by_user ON ticket_stakeholders (user_id, ticket_id);
CREATE INDEX stakeholders_by_group ON ticket_stakeholders (group_id, ticket_id);
CREATE INDEX group_members_by_user ON group_members (user_id);
CREATE INDEX tickets_by_creator ON tickets (created_by_user);
