-- A claim steps through a bot's due events oldest first, past those in
-- flight: with the ticket in the index, each step is an index read, not a
-- row read too.
DROP INDEX events_by_bot;
CREATE INDEX events_by_bot ON events (bot, status, available_at, id, ticket_id);
-- Deleting a ticket (retention) clears the rows that point at it or at its
-- stakeholders: found by index, not by reading whole tables.
CREATE INDEX notifications_by_ticket ON notifications (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX logs_by_acting_stakeholder ON ticket_logs (acting_stakeholder_id)
    WHERE acting_stakeholder_id IS NOT NULL;
CREATE INDEX comments_by_acting_stakeholder ON ticket_comments (acting_stakeholder_id)
    WHERE acting_stakeholder_id IS NOT NULL;
