-- Which server process holds a running capture, and until when its hold counts without renewal.
-- Several replicas can share one database: a replica that starts settles only its own captures
-- left open, and any replica settles a capture whose holder stopped renewing (it died).
-- See docs/deployment.md, "Replicas".
ALTER TABLE sessions ADD COLUMN capture_owner TEXT;
ALTER TABLE sessions ADD COLUMN capture_lease_until INTEGER;
-- Every sweep looks for running captures whose hold lapsed: keep that look cheap.
CREATE INDEX sessions_in_progress ON sessions(status) WHERE status = 'in_progress';
