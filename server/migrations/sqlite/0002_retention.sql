-- Retention by completion: a session keeps its result and photo `retention_secs` after it is
-- completed (the capture window, from creation, stays in `expires_at` until then). Completing a
-- session moves `expires_at` to `completed_at + retention_secs`, so the sweeper keeps one rule.
-- Sessions created before this migration get the default (24 h).
ALTER TABLE sessions ADD COLUMN retention_secs INTEGER NOT NULL DEFAULT 86400;
