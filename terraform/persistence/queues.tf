# One SQS queue per manifest queue, each with its own dead-letter queue. A message that fails
# max_receive_count times moves to the DLQ instead of blocking its consumer.

resource "aws_sqs_queue" "dlq" {
  for_each = local.queues

  name                      = each.value.dlq_physical_name
  fifo_queue                = each.value.fifo
  message_retention_seconds = var.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "this" {
  for_each = local.queues

  name                       = each.value.physical_name
  fifo_queue                 = each.value.fifo
  visibility_timeout_seconds = each.value.visibility_timeout_s
  sqs_managed_sse_enabled    = true

  lifecycle {
    # Owned by aws_sqs_queue_redrive_policy below. Kept apart because the provider stores the
    # policy as the service returns it: moto returns it re-serialised with spaces, and an inline
    # policy would then show a change on every plan against the emulator.
    ignore_changes = [redrive_policy]
  }
}

resource "aws_sqs_queue_redrive_policy" "this" {
  for_each = local.queues

  queue_url = aws_sqs_queue.this[each.key].id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}
