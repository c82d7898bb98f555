-- Retention: closed tickets past their type's `retention` are archived as
-- one complete JSON document (or deleted), in batches.
CREATE TABLE archived_tickets (
    id           INTEGER PRIMARY KEY,
    metaservice  TEXT NOT NULL,
    ticket_type  TEXT NOT NULL,
    closed_at    INTEGER,
    archived_at  INTEGER NOT NULL,
    document     TEXT NOT NULL
);
-- The retention pass reads, per type, the closed tickets oldest first.
CREATE INDEX tickets_closed ON tickets (metaservice, ticket_type, closed_at) WHERE status = 'closed';
