# Provisioned concurrency for the latency-critical functions (niaga.json `latency_critical`), only in business
# hours: Application Auto Scaling raises it to var.provisioned_concurrency at 07:00 WIB and takes it to 0 at
# 19:00 WIB, so nights cost nothing. The API invokes these functions through the `live` alias that carries it.
# (The warm-up schedule keeps the on-demand instances of the same functions warm in the same hours.)

# Every function has the alias; every invoker names it.
resource "aws_lambda_alias" "live" {
  for_each = local.functions

  name             = local.alias
  description      = "The published version every invoker calls; provisioned concurrency attaches here."
  function_name    = aws_lambda_function.this[each.key].function_name
  function_version = aws_lambda_function.this[each.key].version
}

resource "aws_appautoscaling_target" "warm" {
  for_each = var.provisioned_concurrency_schedule ? local.warm_functions : {}

  service_namespace  = "lambda"
  resource_id        = "function:${aws_lambda_function.this[each.key].function_name}:${aws_lambda_alias.live[each.key].name}"
  scalable_dimension = "lambda:function:ProvisionedConcurrency"
  min_capacity       = 0
  max_capacity       = var.provisioned_concurrency
}

resource "aws_appautoscaling_scheduled_action" "business_hours" {
  for_each = aws_appautoscaling_target.warm

  name               = "${local.warm_functions[each.key].physical_name}-business-hours"
  service_namespace  = aws_appautoscaling_target.warm[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.warm[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.warm[each.key].scalable_dimension
  # 00:00 UTC = 07:00 WIB, every day.
  schedule = "cron(0 0 * * ? *)"

  scalable_target_action {
    min_capacity = var.provisioned_concurrency
    max_capacity = var.provisioned_concurrency
  }
}

resource "aws_appautoscaling_scheduled_action" "after_hours" {
  for_each = aws_appautoscaling_target.warm

  name               = "${local.warm_functions[each.key].physical_name}-after-hours"
  service_namespace  = aws_appautoscaling_target.warm[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.warm[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.warm[each.key].scalable_dimension
  # 12:00 UTC = 19:00 WIB, every day.
  schedule = "cron(0 12 * * ? *)"

  scalable_target_action {
    min_capacity = 0
    max_capacity = 0
  }
}
