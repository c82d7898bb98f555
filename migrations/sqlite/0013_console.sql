-- The staff console: passwords (argon2 hashes; set by an admin, changed by
-- their user) and sign-in sessions (the SHA-256 of the cookie's secret, and
-- the CSRF token its forms carry).
ALTER TABLE users ADD COLUMN password_hash TEXT;

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
