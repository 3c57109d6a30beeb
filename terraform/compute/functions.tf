# One Lambda function per manifest function, from cargo-lambda's zip:
# <artifacts_dir>/<name>/bootstrap.zip, built by `cargo lambda build --release --arm64 --output-format zip`.

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  # Lambda's default group for the function name, created here so retention is set.
  name              = "/aws/lambda/${each.value.physical_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "this" {
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

  # Latency-critical functions publish a version per deployment for their `live` alias (warm.tf).
  publish = each.value.latency_critical

  memory_size                    = each.value.memory_mb
  timeout                        = each.value.timeout_s
  reserved_concurrent_executions = coalesce(each.value.reserved_concurrency, -1)

  environment {
    variables = local.common_environment
  }

  dynamic "vpc_config" {
    for_each = length(var.lambda_subnet_ids) == 0 ? [] : [true]
    content {
      subnet_ids         = var.lambda_subnet_ids
      security_group_ids = var.lambda_security_group_ids
    }
  }

  depends_on = [
    aws_iam_role_policy.function,
    aws_iam_role_policy_attachment.vpc_access,
    aws_cloudwatch_log_group.function,
  ]
}
