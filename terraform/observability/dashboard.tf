# One dashboard: business metrics beside latency and errors, so a dip in orders can be read against the API.
resource "aws_cloudwatch_dashboard" "niaga" {
  dashboard_name = "niaga-${var.env}"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title = "Orders placed and credit refusals (per minute)", region = var.region, stat = "Sum", period = 60
          metrics = [
            [local.namespace, "orders_placed", "function", "orders-api"],
            [local.namespace, "credit_check_rejection_count", "function", "orders-api"],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title = "Lead routing latency (ms)", region = var.region, period = 60
          metrics = [
            [local.namespace, "lead_routing_latency_ms", "function", "orders-api", { stat = "p50" }],
            [local.namespace, "lead_routing_latency_ms", "function", "orders-api", { stat = "p99" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title = "ERP sync: error rate (%) and breaker refusals", region = var.region, period = 60
          metrics = [
            [local.namespace, "erp_sync_error_rate", "function", "erp-sync-worker", { stat = "Average" }],
            [local.namespace, "erp_breaker_rejections", "function", "erp-sync-worker", { stat = "Sum" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title   = "Queue age of oldest message (s)", region = var.region, stat = "Maximum", period = 60
          metrics = [for q in values(local.queues) : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.physical_name]]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title   = "API p99 duration (ms)", region = var.region, stat = "p99", period = 60
          metrics = [for f in values(local.http_functions) : ["AWS/Lambda", "Duration", "FunctionName", f.physical_name]]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title   = "Errors per function", region = var.region, stat = "Sum", period = 60
          metrics = [for f in values(local.functions) : ["AWS/Lambda", "Errors", "FunctionName", f.physical_name]]
        }
      },
      {
        type = "metric", x = 0, y = 18, width = 12, height = 6
        properties = {
          title = "Refunds due: payments for orders that had closed (per minute)", region = var.region, stat = "Sum", period = 60
          metrics = [
            [local.namespace, "refunds_due", "function", "payments-api"],
          ]
        }
      },
    ]
  })
}
