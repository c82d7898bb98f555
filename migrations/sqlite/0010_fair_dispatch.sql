-- Fair dispatch: each event carries the key of the bot that runs it
-- ('metaservice/ticket_type/state_code'), so that the dispatcher claims a
-- bot's due events by an index range, in turn with the other bots, and
-- never claims the events of a bot that is at its bound. A trigger fills
-- it on every insert, whichever path inserts the event.
ALTER TABLE events ADD COLUMN bot TEXT;
UPDATE events SET bot = (SELECT t.metaservice || '/' || t.ticket_type || '/' || events.state_code
                         FROM tickets t WHERE t.id = events.ticket_id);
CREATE TRIGGER events_bot AFTER INSERT ON events WHEN NEW.bot IS NULL BEGIN
    UPDATE events SET bot = (SELECT t.metaservice || '/' || t.ticket_type || '/' || NEW.state_code
                             FROM tickets t WHERE t.id = NEW.ticket_id)
    WHERE id = NEW.id;
END;
CREATE INDEX events_by_bot ON events (bot, status, available_at, id);
