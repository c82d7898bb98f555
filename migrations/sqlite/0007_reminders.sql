-- Reminders join the timers: SQLite cannot widen a CHECK in place, so the
-- table is rebuilt with its rows.
CREATE TABLE timers_new (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    state_code    INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('wait', 'wait_ticket', 'lifetime', 'reminder')),
    due_at        INTEGER,
    base_at       INTEGER NOT NULL,
    other_ticket  INTEGER,
    -- For reminders: how many are still to be sent after this one.
    repeats_left  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
INSERT INTO timers_new (id, ticket_id, state_code, kind, due_at, base_at, other_ticket, created_at)
    SELECT id, ticket_id, state_code, kind, due_at, base_at, other_ticket, created_at FROM timers;
DROP TABLE timers;
ALTER TABLE timers_new RENAME TO timers;
CREATE INDEX timers_due ON timers (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX timers_by_other ON timers (other_ticket) WHERE other_ticket IS NOT NULL;
CREATE INDEX timers_by_ticket ON timers (ticket_id);
