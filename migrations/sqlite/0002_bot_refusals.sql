-- The hash of the last bot file refused under this name, so that an error
-- ticket is filed once per bad file, not at every restart or reload.
ALTER TABLE bots ADD COLUMN refused_sha256 TEXT;
