# The project's own EventBridge bus. Functions with `announces` in niaga.json put domain events on it (for
# example "Agent Job Completed" from agent-jobs-worker); consumers subscribe with rules on this bus, never on the
# account's default bus, so IAM can scope PutEvents to it.
resource "aws_cloudwatch_event_bus" "this" {
  name = "niaga-${var.env}"
}
