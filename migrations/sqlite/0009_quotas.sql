-- Quotas per metaservice: counting its open tickets and the tickets its
-- bots created in the last minute reads an index, not the whole table.
CREATE INDEX tickets_open_by_metaservice ON tickets (metaservice, status);
CREATE INDEX tickets_created_by_metaservice ON tickets (metaservice, created_at);
-- Pending events of one ticket, counted before a bot queues another.
CREATE INDEX events_pending_by_ticket ON events (ticket_id, status);
