# One EventBridge rule per manifest schedule (expressions are UTC), one target per function it
# names, delivering the manifest's constant input when it has one.

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each = local.schedules

  name                = "niaga-${var.env}-${each.key}"
  description         = each.value.description
  schedule_expression = each.value.expression
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = local.schedule_targets

  rule      = aws_cloudwatch_event_rule.schedule[each.value.schedule].name
  target_id = each.value.function
  # The alias, as the API invokes it: a warm-up of the unqualified function would warm $LATEST, which serves nothing.
  arn   = aws_lambda_alias.live[each.value.function].arn
  input = each.value.input
}

resource "aws_lambda_permission" "schedule" {
  for_each = local.schedule_targets

  statement_id  = "AllowSchedule-${each.value.schedule}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.value.function].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[each.value.schedule].arn
  qualifier     = aws_lambda_alias.live[each.value.function].name
}
