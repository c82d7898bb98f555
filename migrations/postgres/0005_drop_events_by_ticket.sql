-- `events_pending_by_ticket (ticket_id, status)` answers every lookup of a
-- ticket's events that `events_by_ticket (ticket_id)` did: the older index
-- only cost an insert and a delete per event on the commit path.
DROP INDEX IF EXISTS events_by_ticket;
