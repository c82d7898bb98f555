-- Baton's core tables (design.md §5). Times are milliseconds since the Unix
-- epoch; JSON documents are TEXT.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    login       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    email       TEXT,
    is_admin    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id    INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE metaservices (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    error_group TEXT NOT NULL,
    source      TEXT NOT NULL,
    synced_at   INTEGER NOT NULL
);

CREATE TABLE ticket_types (
    metaservice     TEXT NOT NULL REFERENCES metaservices(name),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    initial_state   INTEGER NOT NULL,
    metadata_schema TEXT NOT NULL,
    settings        TEXT NOT NULL,
    PRIMARY KEY (metaservice, name)
);

CREATE TABLE ticket_states (
    metaservice TEXT NOT NULL,
    ticket_type TEXT NOT NULL,
    code        INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    terminal    INTEGER NOT NULL,
    PRIMARY KEY (metaservice, ticket_type, code),
    FOREIGN KEY (metaservice, ticket_type) REFERENCES ticket_types(metaservice, name)
);

-- One row per allowed move; position 0 is the normal next state.
CREATE TABLE ticket_transitions (
    metaservice TEXT NOT NULL,
    ticket_type TEXT NOT NULL,
    from_code   INTEGER NOT NULL,
    to_code     INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (metaservice, ticket_type, from_code, to_code),
    FOREIGN KEY (metaservice, ticket_type) REFERENCES ticket_types(metaservice, name)
);

CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY,
    metaservice     TEXT NOT NULL,
    ticket_type     TEXT NOT NULL,
    title           TEXT NOT NULL,
    state_code      INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    metadata        TEXT NOT NULL,
    parent_id       INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    created_by_kind TEXT NOT NULL CHECK (created_by_kind IN ('user', 'bot', 'host', 'anonymous')),
    created_by_user INTEGER REFERENCES users(id),
    created_by_bot  TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    closed_at       INTEGER,
    deadline_at     INTEGER,
    version         INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY (metaservice, ticket_type) REFERENCES ticket_types(metaservice, name)
);
-- A bot's sweep reads the tickets in its state: this index keeps that cost
-- proportional to those tickets, not to all of them.
CREATE INDEX tickets_by_state ON tickets (metaservice, ticket_type, state_code, id);
CREATE INDEX tickets_by_parent ON tickets (parent_id);

CREATE TABLE ticket_stakeholders (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    principal_kind  TEXT NOT NULL CHECK (principal_kind IN ('user', 'group')),
    user_id         INTEGER REFERENCES users(id),
    group_id        INTEGER REFERENCES groups(id),
    connection      TEXT NOT NULL CHECK (connection IN ('assigned', 'cc', 'bcc')),
    role            TEXT NOT NULL CHECK (role IN ('requester', 'actioner')),
    is_active       INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    CHECK ((principal_kind = 'user' AND user_id IS NOT NULL AND group_id IS NULL)
        OR (principal_kind = 'group' AND group_id IS NOT NULL AND user_id IS NULL))
);
CREATE INDEX stakeholders_by_ticket ON ticket_stakeholders (ticket_id);

CREATE TABLE ticket_comments (
    id                    INTEGER PRIMARY KEY,
    ticket_id             INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    body                  TEXT NOT NULL,
    acting_user_id        INTEGER NOT NULL REFERENCES users(id),
    acting_stakeholder_id INTEGER REFERENCES ticket_stakeholders(id),
    created_at            INTEGER NOT NULL
);
CREATE INDEX comments_by_ticket ON ticket_comments (ticket_id, id);

CREATE TABLE ticket_logs (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('user', 'bot', 'host', 'anonymous')),
    actor_user  INTEGER REFERENCES users(id),
    actor_bot   TEXT,
    action      TEXT NOT NULL,
    from_state  INTEGER,
    to_state    INTEGER,
    message     TEXT NOT NULL,
    data        TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX logs_by_ticket ON ticket_logs (ticket_id, id);

-- The durable queue. A row is claimed with a lease; it is deleted when the
-- invocation that consumed it commits, and parked after too many failures.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    state_code    INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'parked')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    available_at  INTEGER NOT NULL,
    lease_owner   TEXT,
    lease_until   INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX events_due ON events (status, available_at, id);
CREATE INDEX events_by_ticket ON events (ticket_id);

CREATE TABLE bots (
    name        TEXT PRIMARY KEY,
    sha256      TEXT,
    status      TEXT NOT NULL,
    restarts    INTEGER NOT NULL DEFAULT 0,
    loaded_at   INTEGER,
    last_error  TEXT,
    updated_at  INTEGER NOT NULL
);

-- Ticket numbers are handed out before the ticket is written, so that a bot
-- can refer to the child it just created within the same invocation. A
-- number taken by an invocation that then fails is not reused.
CREATE TABLE id_sequences (
    name        TEXT PRIMARY KEY,
    next_value  INTEGER NOT NULL
);
INSERT INTO id_sequences (name, next_value) VALUES ('tickets', 1);
