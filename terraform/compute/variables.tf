variable "env" {
  description = "Environment name used in every physical name (niaga-<env>-<function>, niaga/<env>/<secret>). `local` for the emulator, `prod` for production."
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
  description = "Base URL of an AWS emulator (moto), for example http://127.0.0.1:5000. null (the default) targets real AWS. When set, the provider uses test credentials and every function gets AWS_ENDPOINT_URL with this value."
  type        = string
  default     = null
}

variable "artifacts_dir" {
  description = "Folder holding cargo-lambda's output, one <function>/bootstrap.zip per manifest function (cargo lambda build --release --arm64 --output-format zip). null means the workspace's target/lambda."
  type        = string
  default     = null
}

variable "queue_arns" {
  description = "ARN of each manifest queue, by manifest name: the persistence layer's queue_arns output (terraform/tf passes it)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for f in values(local.sqs_functions) : contains(keys(var.queue_arns), f.queue)])
    error_message = "queue_arns lacks a queue that an sqs function consumes: apply the persistence layer first (terraform/tf passes its outputs)."
  }
}

variable "secret_arns" {
  description = "ARN of each manifest secret, by manifest name: the persistence layer's secret_arns output (terraform/tf passes it)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for f in values(local.functions) : alltrue([for s in f.secrets : contains(keys(var.secret_arns), s)])])
    error_message = "secret_arns lacks a secret that a function reads: apply the persistence layer first (terraform/tf passes its outputs)."
  }
}

variable "event_bus_arn" {
  description = "ARN of the project's EventBridge bus: the persistence layer's event_bus_arn output (terraform/tf passes it)."
  type        = string
  default     = null

  validation {
    condition     = var.event_bus_arn != null || length([for f in values(local.functions) : f if f.announces]) == 0
    error_message = "event_bus_arn is required when a function announces events: apply the persistence layer first (terraform/tf passes its outputs)."
  }
}

variable "account_id" {
  description = "The AWS account the functions run in: the persistence layer's account_id (terraform/tf passes it)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id: apply the persistence layer first (terraform/tf passes its outputs)."
  }
}

variable "exports_bucket" {
  description = "Name of the exports bucket: the persistence layer's exports_bucket output (terraform/tf passes it). Given to functions as NIAGA_EXPORTS_BUCKET."
  type        = string
  default     = null
}

variable "exports_bucket_arn" {
  description = "ARN of the exports bucket (terraform/tf passes it); functions with `exports` reach its exports/ prefix."
  type        = string
  default     = null

  validation {
    condition     = var.exports_bucket_arn != null || length([for f in values(local.functions) : f if f.exports != null]) == 0
    error_message = "exports_bucket_arn is required when a function uses exports: apply the persistence layer first (terraform/tf passes its outputs)."
  }
}

variable "erp_url" {
  description = "Base URL of the legacy ERP's API (http://host:port), given to functions as NIAGA_ERP_URL; null leaves it unset (erp-sync-worker then refuses to start)."
  type        = string
  default     = null
}

variable "payments_status_url" {
  description = "Base URL of the payment gateway's Get Status API (https://api.midtrans.com; the sandbox is https://api.sandbox.midtrans.com), given to functions as NIAGA_PAYMENTS_STATUS_URL: payments-api then confirms each settlement with it before marking an order paid. null leaves it unset (the signature and the status table alone). payments-api reaches it through the network layer's NAT gateway (its manifest entry lists it under `egress`)."
  type        = string
  default     = null

  validation {
    condition     = var.payments_status_url == null || can(regex("^https://[^/?#@]+(/[^?#]*)?$", var.payments_status_url))
    error_message = "payments_status_url must be an https base URL without a query, fragment or credentials: the server key travels in every request."
  }
}

variable "table_arns" {
  description = "ARN of each manifest table, by manifest name: the persistence layer's table_arns output (terraform/tf passes it)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for f in values(local.functions) : alltrue([for t in f.tables : contains(keys(var.table_arns), t)])])
    error_message = "table_arns lacks a table that a function uses: apply the persistence layer first (terraform/tf passes its outputs)."
  }
}

variable "database_url" {
  description = "postgres://host:port/database of the writer (the RDS Proxy in production, the local cluster on a laptop), without credentials: they come from the database secret. Given to functions as DATABASE_URL; null leaves it unset."
  type        = string
  default     = null
}

variable "database_reader_url" {
  description = "postgres://host:port/database for reads that may be slightly stale (the read replica). Given to functions as DATABASE_READER_URL; null means the writer's URL."
  type        = string
  default     = null
}

variable "database_tls" {
  description = "Given to functions as DATABASE_TLS: `verify-full` (TLS, the server certificate checked against the endpoint's CA bundle and its host name). Deployed functions never skip verification; only a local cluster run by cargo xtask may."
  type        = string
  default     = "verify-full"

  validation {
    condition     = var.database_tls == "verify-full"
    error_message = "database_tls must be verify-full."
  }
}

variable "database_ca" {
  description = "Given to functions as DATABASE_CA, the CA bundle for the writer: `rds-proxy` (Amazon Root CA 1: RDS Proxy presents an ACM certificate chained to it) or `rds` (the RDS global bundle, for an instance's own endpoint)."
  type        = string
  default     = "rds-proxy"

  validation {
    condition     = contains(["rds-proxy", "rds"], var.database_ca)
    error_message = "database_ca must be rds-proxy or rds."
  }
}

variable "database_reader_ca" {
  description = "Given to functions as DATABASE_READER_CA when database_reader_url is set: the CA bundle for the read replica's own endpoint, `rds` (the RDS global bundle) or `rds-proxy`."
  type        = string
  default     = "rds"

  validation {
    condition     = contains(["rds-proxy", "rds"], var.database_reader_ca)
    error_message = "database_reader_ca must be rds-proxy or rds."
  }
}

variable "log_retention_days" {
  description = "Days to keep each function's CloudWatch logs and the API access logs."
  type        = number
  default     = 30
}

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second the HTTP API's $default stage accepts across all routes before answering 429."
  type        = number
  default     = 5000
}

variable "api_throttling_burst_limit" {
  description = "Burst (token bucket size) of the HTTP API's $default stage."
  type        = number
  default     = 2500
}

variable "lambda_subnet_ids" {
  description = "Private subnets for the functions, so they reach the RDS Proxy. Empty runs them outside any VPC (the local stack)."
  type        = list(string)
  default     = []
}

variable "lambda_security_group_ids" {
  description = "Security groups of the functions when lambda_subnet_ids is set; the database security group must accept 5432 from them."
  type        = list(string)
  default     = []
}

variable "lambda_egress_security_group_ids" {
  description = "Security groups added to the functions with `egress` in niaga.json (those calling outside AWS): HTTPS out through the network layer's NAT gateway."
  type        = list(string)
  default     = []
}

variable "provisioned_concurrency" {
  description = "Provisioned concurrency of each latency-critical function during business hours (07:00-19:00 WIB); 0 outside them. terraform/CAPACITY.md sizes it."
  type        = number
  default     = 1

  validation {
    condition     = var.provisioned_concurrency >= 1 && var.provisioned_concurrency <= 100
    error_message = "provisioned_concurrency must be 1 to 100."
  }
}

variable "provisioned_concurrency_schedule" {
  description = "Schedule the provisioned concurrency with Application Auto Scaling (warm.tf). The whole-stack check on the emulator sets false: moto does not implement Application Auto Scaling's ListTagsForResource, which the AWS provider calls after registering a target. The `live` aliases exist either way."
  type        = bool
  default     = true
}

variable "cdn_enabled" {
  description = "Put CloudFront in front of the API: the public catalogue routes cached as the origin's Cache-Control says, everything else passed through uncached. Off for the local stack."
  type        = bool
  default     = true
}

variable "cdn_policies" {
  description = "Create CloudFront's origin request policy (the API's headers and CloudFront-Viewer-Address, never a viewer's origin header) and cache policy for the API. The whole-stack check on the emulator sets false: moto has no cache or origin request policy API, so the managed AllViewerExceptHostHeader and CachingDisabled stand in there."
  type        = bool
  default     = true
}
