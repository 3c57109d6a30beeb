# No RDS on the emulator: PostgreSQL runs on the developer's machine. Everything is throwaway, so
# nothing is protected and deleted secret names are free again at once. cargo xtask up passes the
# first secret values as TF_VAR_secret_values.
create_database             = false
protect_data                = false
secret_recovery_window_days = 0
# The emulator's objects die with it; skipping the lifecycle rule saves about a minute per apply.
exports_expiry_enabled = false
# A fixed name, so the local stack can hand it to the functions (cargo xtask up sets NIAGA_EXPORTS_BUCKET).
exports_bucket_name = "niaga-local-exports"
