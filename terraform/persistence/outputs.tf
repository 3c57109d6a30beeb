output "queue_urls" {
  description = "URL of each manifest queue, by manifest name."
  value       = { for k, q in aws_sqs_queue.this : k => q.url }
}

output "queue_arns" {
  description = "ARN of each manifest queue, by manifest name."
  value       = { for k, q in aws_sqs_queue.this : k => q.arn }
}

output "dlq_urls" {
  description = "URL of each queue's dead-letter queue, by manifest queue name."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.url }
}

output "dlq_arns" {
  description = "ARN of each queue's dead-letter queue, by manifest queue name."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.arn }
}

output "secret_arns" {
  description = "ARN of each manifest secret, by manifest name."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}

output "secret_ids" {
  description = "Name (secret id) of each manifest secret, by manifest name: niaga/<env>/<name>."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.name }
}

output "table_names" {
  description = "Physical name of each manifest table, by manifest name."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "table_arns" {
  description = "ARN of each manifest table, by manifest name."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}

output "event_bus_name" {
  description = "Name of the project's EventBridge bus, niaga-<env>: functions with `announces` put domain events on it."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the project's EventBridge bus."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "exports_bucket" {
  description = "Name of the exports bucket."
  value       = aws_s3_bucket.exports.bucket
}

output "database_endpoint" {
  description = "Writer endpoint (host) of the RDS Proxy; null when create_database is false."
  value       = var.create_database ? aws_db_proxy.this[0].endpoint : null
}

output "database_reader_endpoint" {
  description = "Host of the read replica; null without one."
  value       = local.replica_count == 1 ? aws_db_instance.replica[0].address : null
}

output "database_url" {
  description = "postgres:// URL of the writer through the proxy, without credentials (they come from the database secret); null when create_database is false."
  value       = local.database_url
}

output "database_reader_url" {
  description = "postgres:// URL of the read replica, without credentials; null without one (functions then read from the writer)."
  value       = local.database_reader_url
}

# Exactly the compute layer's input variables of the same names. terraform/tf writes this object to a
# var file before planning compute, so the two layers stay wired without terraform_remote_state.
output "compute_inputs" {
  description = "The values the compute layer takes from this layer, named like its variables."
  value = {
    queue_arns          = { for k, q in aws_sqs_queue.this : k => q.arn }
    secret_arns         = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
    table_arns          = { for k, t in aws_dynamodb_table.this : k => t.arn }
    event_bus_arn       = aws_cloudwatch_event_bus.this.arn
    account_id          = data.aws_caller_identity.current.account_id
    exports_bucket      = aws_s3_bucket.exports.bucket
    exports_bucket_arn  = aws_s3_bucket.exports.arn
    database_url        = local.database_url
    database_reader_url = local.database_reader_url
  }
}
