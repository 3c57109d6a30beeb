# Per function: the share of failed invocations.
resource "aws_cloudwatch_metric_alarm" "error_rate" {
  for_each = local.functions

  alarm_name          = "${each.value.physical_name}-error-rate"
  alarm_description   = "More than ${var.error_rate_percent}% of ${each.key} invocations failed in a minute, twice in three minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_rate_percent
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "100 * errors / MAX([errors, invocations])"
    label       = "error rate (%)"
    return_data = true
  }
  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = each.value.physical_name }
      period      = 60
      stat        = "Sum"
    }
  }
  metric_query {
    id = "invocations"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      dimensions  = { FunctionName = each.value.physical_name }
      period      = 60
      stat        = "Sum"
    }
  }
}

# Per HTTP function: p99 duration.
resource "aws_cloudwatch_metric_alarm" "p99" {
  for_each = local.http_functions

  alarm_name          = "${each.value.physical_name}-p99"
  alarm_description   = "${each.key} p99 duration above ${var.api_p99_ms} ms for two of three minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = each.value.physical_name }
  extended_statistic  = "p99"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_p99_ms
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Per HTTP function: answers with a 5xx (its errors_5xx EMF metric, one per request: lambda_glue::http). A handled
# 500 or 503 is a successful invocation, so the error-rate alarm above never counts it.
resource "aws_cloudwatch_metric_alarm" "http_5xx" {
  for_each = local.http_functions

  alarm_name          = "${each.value.physical_name}-5xx"
  alarm_description   = "${each.key} answered more than ${var.api_5xx_per_minute} requests a minute with a 5xx, twice in three minutes."
  namespace           = local.namespace
  metric_name         = "errors_5xx"
  dimensions          = { function = each.key }
  statistic           = "Sum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_per_minute
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Per queue: anything in the dead-letter queue needs a person (and `cargo xtask redrive` once fixed).
resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.queues

  alarm_name          = "${each.value.dlq_physical_name}-depth"
  alarm_description   = "Messages reached the ${each.key} dead-letter queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.dlq_physical_name }
  statistic           = "Maximum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 2
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Per queue: a consumer that stopped or cannot keep up.
resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each = local.queues

  alarm_name          = "${each.value.physical_name}-oldest-message"
  alarm_description   = "The oldest message on ${each.key} is older than ${var.oldest_message_age_s} s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value.physical_name }
  statistic           = "Maximum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_age_s
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Business metrics (EMF, namespace Niaga, dimension `function`).
locals {
  business_alarms = {
    "erp-sync-error-rate" = {
      description = "More than ${var.erp_sync_error_rate_percent}% of calls to the ERP failed (erp_sync_error_rate)."
      metric      = "erp_sync_error_rate"
      function    = "erp-sync-worker"
      statistic   = "Average"
      threshold   = var.erp_sync_error_rate_percent
      periods     = 3
    }
    "erp-breaker-open" = {
      description = "The ERP circuit breaker is open: erp-sync-worker is holding orders back (erp_breaker_rejections)."
      metric      = "erp_breaker_rejections"
      function    = "erp-sync-worker"
      statistic   = "Sum"
      threshold   = 0
      periods     = 2
    }
    "refund-due" = {
      description = "Money arrived for an order that had already closed (refunds_due): GET /admin/refunds-due lists what to send back."
      metric      = "refunds_due"
      function    = "payments-api"
      statistic   = "Sum"
      threshold   = 0
      periods     = 2
    }
    "credit-rejection-spike" = {
      description = "More than ${var.credit_rejections_per_minute} checkouts a minute refused for credit (credit_check_rejection_count): check the ERP debt sync and the price lists."
      metric      = "credit_check_rejection_count"
      function    = "orders-api"
      statistic   = "Sum"
      threshold   = var.credit_rejections_per_minute
      periods     = 3
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "business" {
  for_each = local.business_alarms

  alarm_name          = "niaga-${var.env}-${each.key}"
  alarm_description   = each.value.description
  namespace           = local.namespace
  metric_name         = each.value.metric
  dimensions          = { function = each.value.function }
  statistic           = each.value.statistic
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods == 2 ? 1 : 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
