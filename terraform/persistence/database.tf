# PostgreSQL 15 on RDS: a primary, one read replica, and an RDS Proxy in front of the primary.
# Created only when var.create_database is true; the local stack runs PostgreSQL on the machine.
#
# Functions connect through the proxy with tiny per-instance pools (DATABASE_URL). Reads that can be
# stale go to DATABASE_READER_URL, the replica's own endpoint: RDS Proxy can target only the writer
# of an RDS instance replication setup, and its read-only endpoints work only with Aurora clusters.
#
# Credentials live in the manifest's `database` secret (JSON with username and password). Its first
# value comes from var.secret_values; the primary's password is set from it once and then left to
# rotation, and the proxy reads the secret to log in.

locals {
  db_count      = var.create_database ? 1 : 0
  replica_count = var.create_database && var.database_read_replica ? 1 : 0
  # null unless the database is created and a first value for the database secret is supplied.
  db_credentials = var.create_database ? try(jsondecode(var.secret_values["database"]), null) : null

  database_url        = var.create_database ? "postgres://${aws_db_proxy.this[0].endpoint}:5432/${var.database_name}" : null
  database_reader_url = local.replica_count == 1 ? "postgres://${aws_db_instance.replica[0].address}:${aws_db_instance.replica[0].port}/${var.database_name}" : null
}

resource "aws_db_subnet_group" "this" {
  count = local.db_count

  name       = "niaga-${var.env}"
  subnet_ids = var.database_subnet_ids

  lifecycle {
    precondition {
      condition     = var.vpc_id != null && length(var.database_subnet_ids) >= 2 && length(var.database_security_group_ids) >= 1
      error_message = "create_database needs vpc_id, at least two database_subnet_ids and at least one database_security_group_ids."
    }
  }
}

resource "aws_db_parameter_group" "this" {
  count = local.db_count

  name   = "niaga-${var.env}-postgres15"
  family = "postgres15"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "password_encryption"
    value = "scram-sha-256"
  }
}

resource "aws_db_instance" "primary" {
  #checkov:skip=CKV_AWS_354:Performance Insights data is encrypted with the RDS AWS-managed key, as the storage is; a customer key would add cost and a key policy.
  #checkov:skip=CKV_AWS_118:Performance Insights (on) and the instance's CloudWatch metrics cover what ops watch; enhanced monitoring would add a monitoring role and a per-instance cost for OS-level detail.
  count = local.db_count

  identifier     = "niaga-${var.env}"
  engine         = "postgres"
  engine_version = "15"
  instance_class = var.database_instance_class
  db_name        = var.database_name
  username       = try(local.db_credentials.username, null)
  password       = try(local.db_credentials.password, null)

  allocated_storage     = var.database_allocated_storage_gb
  max_allocated_storage = var.database_allocated_storage_gb * 4
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = aws_db_subnet_group.this[0].name
  vpc_security_group_ids = var.database_security_group_ids
  parameter_group_name   = aws_db_parameter_group.this[0].name
  # Named, not left to the account default: functions verify this endpoint against the RDS global bundle
  # (DATABASE_READER_CA=rds), which holds this authority's root.
  ca_cert_identifier  = var.database_ca_cert_identifier
  publicly_accessible = false
  multi_az            = var.database_multi_az

  backup_retention_period    = var.database_backup_retention_days
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.protect_data
  skip_final_snapshot        = !var.protect_data
  final_snapshot_identifier  = var.protect_data ? "niaga-${var.env}-final" : null

  # Slow queries and errors in CloudWatch Logs; load by query in Performance Insights (7 days are free).
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  performance_insights_enabled        = true
  iam_database_authentication_enabled = true

  lifecycle {
    # Rotation changes the password in the secret and on the instance; terraform must not undo it.
    ignore_changes = [password]

    precondition {
      condition     = can(local.db_credentials.username) && can(local.db_credentials.password) && contains(local.secret_names, "database")
      error_message = "create_database needs the manifest secret `database` and secret_values[\"database\"] holding JSON with username and password."
    }
  }
}

resource "aws_db_instance" "replica" {
  #checkov:skip=CKV_AWS_354:As for the primary: the RDS AWS-managed key.
  #checkov:skip=CKV_AWS_118:As for the primary: Performance Insights and CloudWatch metrics, no enhanced monitoring.
  #checkov:skip=CKV_AWS_133:A read replica keeps no backups of its own; the primary's automated backups (database_backup_retention_days) are the recovery point.
  #checkov:skip=CKV_AWS_157:The replica serves stale-tolerant reads only; if it fails, functions fall back to the writer (DATABASE_READER_URL unset), so a standby for it would double its cost for nothing.
  count = local.replica_count

  identifier          = "niaga-${var.env}-replica"
  replicate_source_db = aws_db_instance.primary[0].identifier
  instance_class      = var.database_instance_class

  storage_type           = "gp3"
  storage_encrypted      = true
  vpc_security_group_ids = var.database_security_group_ids
  parameter_group_name   = aws_db_parameter_group.this[0].name
  # Named, not left to the account default: functions verify this endpoint against the RDS global bundle
  # (DATABASE_READER_CA=rds), which holds this authority's root.
  ca_cert_identifier  = var.database_ca_cert_identifier
  publicly_accessible = false
  multi_az            = false

  backup_retention_period    = 0
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.protect_data
  skip_final_snapshot        = true

  enabled_cloudwatch_logs_exports = ["postgresql"]
  performance_insights_enabled    = true
}

data "aws_iam_policy_document" "proxy_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "proxy" {
  count = local.db_count

  name               = "niaga-${var.env}-db-proxy"
  assume_role_policy = data.aws_iam_policy_document.proxy_assume.json
}

# The proxy reads the database secret and nothing else.
resource "aws_iam_role_policy" "proxy" {
  count = local.db_count

  name = "read-database-secret"
  role = aws_iam_role.proxy[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      Resource = [aws_secretsmanager_secret.this["database"].arn]
    }]
  })
}

resource "aws_db_proxy" "this" {
  count = local.db_count

  name                   = "niaga-${var.env}"
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.proxy[0].arn
  vpc_subnet_ids         = var.database_subnet_ids
  vpc_security_group_ids = var.database_security_group_ids
  require_tls            = true
  idle_client_timeout    = 1800

  auth {
    description               = "niaga/${var.env}/database"
    auth_scheme               = "SECRETS"
    secret_arn                = aws_secretsmanager_secret.this["database"].arn
    iam_auth                  = "DISABLED"
    client_password_auth_type = "POSTGRES_SCRAM_SHA_256"
  }

  depends_on = [aws_iam_role_policy.proxy]
}

resource "aws_db_proxy_default_target_group" "this" {
  count = local.db_count

  db_proxy_name = aws_db_proxy.this[0].name

  connection_pool_config {
    max_connections_percent      = var.proxy_max_connections_percent
    max_idle_connections_percent = 50
    connection_borrow_timeout    = 30
  }
}

resource "aws_db_proxy_target" "primary" {
  count = local.db_count

  db_proxy_name          = aws_db_proxy.this[0].name
  target_group_name      = aws_db_proxy_default_target_group.this[0].name
  db_instance_identifier = aws_db_instance.primary[0].identifier

  # The proxy logs in with the secret's value, which must exist before the target registers.
  depends_on = [aws_secretsmanager_secret_version.initial]
}
