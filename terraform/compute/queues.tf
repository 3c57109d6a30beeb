# Each sqs function consumes its own queue. Handlers return SqsBatchResponse, so only the failed
# messages of a batch come back (ReportBatchItemFailures); maximum_concurrency caps the pollers so a
# slow dependency (the ERP) is not flooded.

resource "aws_lambda_event_source_mapping" "queue" {
  for_each = local.sqs_functions

  event_source_arn        = var.queue_arns[each.value.queue]
  function_name           = aws_lambda_alias.live[each.key].arn
  batch_size              = each.value.batch_size
  function_response_types = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = each.value.max_concurrency == null ? [] : [each.value.max_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }
}
