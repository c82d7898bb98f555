-- A claim writes lease_owner and lease_until on every event it takes, and
-- the events_by_lease_owner index made each such write a new row version
-- with an entry in every index of the table (five): PostgreSQL updates a
-- row in place (a HOT update) only when no indexed column changes. Without
-- it, a claim touches the row's page and nothing else, and the queue's
-- indexes stop filling with entries that a claim's scan must step over.
--
-- What the index served (the leases of a node that stopped or died) is a
-- scan of the queue instead, run only when a node has stopped or died
-- (`cluster.rs`): seconds apart at the very most, not on every claim.
DROP INDEX IF EXISTS events_by_lease_owner;

-- Room on each page for the new versions of its rows, so that the HOT
-- updates above stay on the page (the default, 100, fills pages full).
ALTER TABLE events SET (fillfactor = 70);
