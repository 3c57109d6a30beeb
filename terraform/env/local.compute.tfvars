# Functions deployed to the emulator verify their database as in AWS (database_tls defaults to
# verify-full). Those cargo xtask runs on this machine get the local cluster's CA instead (xtask/src/stack.rs).
log_retention_days = 1
# The local gateway stands in for API Gateway and CloudFront.
cdn_enabled = false
