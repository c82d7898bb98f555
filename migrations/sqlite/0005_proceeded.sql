-- The seed's "proceeded list": which tickets a state's bot has processed.
-- A sweep runs the bot for the tickets in its state that are not here.
CREATE TABLE proceeded (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    state_code  INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, state_code)
);
