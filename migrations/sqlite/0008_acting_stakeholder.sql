-- Who acted for whom: a person's change to a ticket is logged with the
-- user who made it (actor_user) and the stakeholder they acted as
-- (themselves, or a group they belong to), as the WCA design asks of
-- comments.
ALTER TABLE ticket_logs ADD COLUMN acting_stakeholder_id INTEGER REFERENCES ticket_stakeholders(id);
