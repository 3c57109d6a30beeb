-- GET /health, as health-api runs it (shared/store/src/pool.rs ping on the writer, the reader being the writer
-- here; shared/store/src/erp_sync.rs status).
SELECT 1;
SELECT kind, last_attempt_at, last_success_at, as_of, last_error FROM erp_sync_state ORDER BY kind;
