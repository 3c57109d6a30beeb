variable "env" {
  description = "Environment name used in every physical name: queues niaga-<env>-<name>, secrets niaga/<env>/<name>, tables niaga-<env>-<name>. `local` for the emulator, `prod` for production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.env))
    error_message = "env must be 2-12 lowercase letters or digits, starting with a letter (for example local or prod)."
  }
}

variable "region" {
  description = "AWS region to deploy into. Production runs in ap-southeast-3 (Jakarta); the local emulator uses us-east-1."
  type        = string
}

variable "aws_endpoint" {
  description = "Base URL of an AWS emulator (moto), for example http://127.0.0.1:5000. null (the default) targets real AWS; when set, the provider uses test credentials and skips every account and credential check."
  type        = string
  default     = null
}

variable "secret_values" {
  description = "Initial value of each manifest secret, as a map of secret name (app, database, ...) to a JSON string, for example {app = jsonencode({jwt_signing_key = \"...\"})}. Only the first version is written: later changes and rotations are left alone, and leaving a name out later only drops the version from state (the secret keeps its value). Secrets not in the map are created without a value. The database secret must hold username and password when create_database is true."
  type        = map(string)
  default     = {}
  sensitive   = true

  validation {
    condition     = alltrue([for v in values(var.secret_values) : can(jsondecode(v))])
    error_message = "Every value in secret_values must be a JSON document (use jsonencode)."
  }

  validation {
    condition     = alltrue([for k in keys(var.secret_values) : contains(local.secret_names, k)])
    error_message = "secret_values names a secret that niaga.json does not declare."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can be recovered (7-30), or 0 to delete at once. 0 suits the local stack, where the same names are recreated right after a destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "protect_data" {
  description = "Guards against losing data on destroy: DynamoDB and RDS deletion protection, a final RDS snapshot, and no forced deletion of a non-empty exports bucket. Turn off only for throwaway stacks such as the local one."
  type        = bool
  default     = true
}

variable "exports_bucket_name" {
  description = "Name of the S3 bucket for exports. null (the default) uses niaga-<env>-exports-<account id>, which is unique because bucket names are global."
  type        = string
  default     = null
}

variable "exports_expiry_days" {
  description = "Days after which an export object is deleted."
  type        = number
  default     = 7
}

variable "dlq_retention_seconds" {
  description = "How long a message stays in a dead-letter queue (SQS allows at most 14 days), so failures can be inspected and redriven."
  type        = number
  default     = 1209600
}

# --- The database: RDS PostgreSQL 15, a read replica and RDS Proxy. Not created on the emulator. ---

variable "create_database" {
  description = "Create the RDS PostgreSQL instance, its read replica and the RDS Proxy. false for the local stack, where PostgreSQL runs on the developer's machine."
  type        = bool
  default     = true
}

variable "database_read_replica" {
  description = "With create_database, also create the read replica that DATABASE_READER_URL points at. The whole-stack check on the emulator sets false: moto gives every DB instance the same DbiResourceId, so the AWS provider cannot read a second instance back."
  type        = bool
  default     = true
}

variable "vpc_id" {
  description = "VPC holding the database and the proxy. Required when create_database is true."
  type        = string
  default     = null
}

variable "database_subnet_ids" {
  description = "Private subnet ids (at least two availability zones) for the database subnet group and the proxy. Required when create_database is true."
  type        = list(string)
  default     = []
}

variable "database_security_group_ids" {
  description = "Security groups for the database instances and the proxy; they must allow PostgreSQL (5432) from the Lambda security group and from the proxy itself."
  type        = list(string)
  default     = []
}

variable "database_name" {
  description = "Name of the PostgreSQL database created on the instance."
  type        = string
  default     = "niaga"
}

variable "database_instance_class" {
  description = "Instance class of the primary and of the read replica."
  type        = string
  default     = "db.t4g.medium"
}

variable "database_allocated_storage_gb" {
  description = "Initial storage of the primary, in GiB (gp3). Storage autoscaling may grow it to four times this."
  type        = number
  default     = 50
}

variable "database_ca_cert_identifier" {
  description = "RDS certificate authority of the primary's and the replica's server certificates. Its root is in the RDS global bundle the functions pin (shared/store/certs); RDS Proxy presents its own ACM certificate instead."
  type        = string
  default     = "rds-ca-rsa2048-g1"

  validation {
    condition     = contains(["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"], var.database_ca_cert_identifier)
    error_message = "database_ca_cert_identifier must be an RDS CA whose root is in the pinned global bundle: rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1."
  }
}

variable "database_multi_az" {
  description = "Run the primary with a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "database_backup_retention_days" {
  description = "Days of automated backups (point-in-time restore window). Must be at least 1 for the read replica to exist."
  type        = number
  default     = 7

  validation {
    condition     = var.database_backup_retention_days >= 1
    error_message = "A read replica needs automated backups: database_backup_retention_days must be at least 1."
  }
}

variable "proxy_max_connections_percent" {
  description = "Share of the primary's max_connections the RDS Proxy may open."
  type        = number
  default     = 90
}

variable "exports_expiry_enabled" {
  description = "Whether export objects expire after exports_expiry_days (off for the local emulator, where everything is throwaway)."
  type        = bool
  default     = true
}
