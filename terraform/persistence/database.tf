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
  db_count = var.create_database ? 1 : 0
  # null unless the database is created and a first value for the database secret is supplied.
  db_credentials = var.create_database ? try(jsondecode(var.secret_values["database"]), null) : null
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
  publicly_accessible    = false
  multi_az               = var.database_multi_az

  backup_retention_period    = var.database_backup_retention_days
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.protect_data
  skip_final_snapshot        = !var.protect_data
  final_snapshot_identifier  = var.protect_data ? "niaga-${var.env}-final" : null

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
  count = local.db_count

  identifier          = "niaga-${var.env}-replica"
  replicate_source_db = aws_db_instance.primary[0].identifier
  instance_class      = var.database_instance_class

  storage_type           = "gp3"
  storage_encrypted      = true
  vpc_security_group_ids = var.database_security_group_ids
  parameter_group_name   = aws_db_parameter_group.this[0].name
  publicly_accessible    = false
  multi_az               = false

  backup_retention_period    = 0
  auto_minor_version_upgrade = true
  deletion_protection        = var.protect_data
  skip_final_snapshot        = true
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
