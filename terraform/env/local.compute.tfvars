# The local PostgreSQL speaks plain TCP on loopback. cargo xtask up passes database_url and
# database_reader_url of the cluster it started.
database_tls       = "disable"
log_retention_days = 1
# The local gateway stands in for API Gateway and CloudFront.
cdn_enabled = false
