# One Lambda function per manifest function, from cargo-lambda's zip:
# <artifacts_dir>/<name>/bootstrap.zip, built by `cargo lambda build --release --arm64 --output-format zip`.

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (30 in production): logs are for operations; the audit trail lives in PostgreSQL (audit_log, kept by retention.audit_months).
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts every group at rest; the functions never log secrets, tokens or card numbers (tested), so a customer key would add cost and a key policy, not protection.
  # Lambda's default group for the function name, created here so retention is set.
  name              = "/aws/lambda/${each.value.physical_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:No function is invoked asynchronously with work to lose: HTTP functions answer their caller, queue workers fail back to their queue and its DLQ, and scheduled jobs are idempotent and catch up on their next run.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names, URLs and limits only; secrets come from Secrets Manager at cold start), and Lambda encrypts it at rest with its service key.
  #checkov:skip=CKV_AWS_272:Zips are built by CI from the tagged commit and deployed by terraform with their source_code_hash; signing them would need an AWS Signer profile managed outside this stack.
  for_each = local.functions

  function_name = each.value.physical_name
  description   = each.value.description
  role          = aws_iam_role.function[each.key].arn

  runtime       = local.defaults.runtime
  architectures = [local.defaults.architecture]
  handler       = "bootstrap"
  filename      = each.value.zip
  # Absent zips (validate and plan before a build) are fine: the hash appears once they exist.
  source_code_hash = fileexists(each.value.zip) ? filebase64sha256(each.value.zip) : null

  # Every function publishes a version per deployment for its `live` alias (warm.tf), which every invoker names.
  publish = true

  memory_size                    = each.value.memory_mb
  timeout                        = each.value.timeout_s
  reserved_concurrent_executions = coalesce(each.value.reserved_concurrency, -1)

  environment {
    variables = merge(local.common_environment, each.value.kind == "http" ? local.origin_environment : {})
  }

  # The functions log a trace id on every line and pass an incoming X-Ray header on; sampling and recording
  # (Active) is left off because X-Ray's write actions cannot be scoped to a resource, which the least-privilege
  # test refuses.
  tracing_config {
    mode = "PassThrough"
  }

  dynamic "vpc_config" {
    for_each = length(var.lambda_subnet_ids) == 0 ? [] : [true]
    content {
      subnet_ids = var.lambda_subnet_ids
      # Only the functions that call outside AWS (niaga.json `egress`) may send HTTPS out through the NAT gateway.
      security_group_ids = concat(
        var.lambda_security_group_ids,
        length(each.value.egress) > 0 ? var.lambda_egress_security_group_ids : [],
      )
    }
  }

  depends_on = [
    aws_iam_role_policy.function,
    aws_iam_role_policy_attachment.vpc_access,
    aws_cloudwatch_log_group.function,
  ]
}
