-- Jobs that run once per cluster (sweeps, retention): the node that ran
-- each last, and when. A node runs a job only if it updates its row,
-- which it may do once the period has passed (store/postgres/cluster.rs).
CREATE TABLE cluster_jobs (
    job     TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    ran_at  BIGINT NOT NULL
);
