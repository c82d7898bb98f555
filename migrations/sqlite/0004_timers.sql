-- Timers: waits, waits on other tickets, and state lifetimes. Only due ones
-- are read (by the index), so a million pending timers cost the process
-- nothing.
CREATE TABLE timers (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    -- The state the timer belongs to: it is dropped when the ticket leaves it.
    state_code    INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('wait', 'wait_ticket', 'lifetime')),
    -- When it fires; NULL for a wait on another ticket, which fires when
    -- that ticket closes.
    due_at        INTEGER,
    -- When the state was entered, for lifetimes re-timed by a settings change.
    base_at       INTEGER NOT NULL,
    other_ticket  INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE INDEX timers_due ON timers (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX timers_by_other ON timers (other_ticket) WHERE other_ticket IS NOT NULL;
CREATE INDEX timers_by_ticket ON timers (ticket_id);
