# Alarms and the dashboard, derived from the manifest like the other layers: a function or queue added to
# niaga.json gets its alarms without editing terraform.
#
# Every alarm uses 1-minute periods and fires after 2 bad minutes out of 3, so it reaches the topic within
# about 3 minutes of an incident (seed 004 asks for 5). Missing data is not breaching: a function nobody calls is
# not failing.

locals {
  manifest = jsondecode(file("${path.module}/../../niaga.json"))

  functions = {
    for f in local.manifest.functions : f.name => {
      kind          = f.kind
      physical_name = "niaga-${var.env}-${f.name}"
    }
  }
  http_functions = { for k, f in local.functions : k => f if f.kind == "http" }

  queues = {
    for q in lookup(local.manifest, "queues", []) : q.name => {
      physical_name     = "niaga-${var.env}-${q.name}${lookup(q, "fifo", false) ? ".fifo" : ""}"
      dlq_physical_name = "niaga-${var.env}-${q.name}-dlq${lookup(q, "fifo", false) ? ".fifo" : ""}"
    }
  }

  # Where the functions' EMF lines land (platform::metrics).
  namespace = "Niaga"
}

resource "aws_sns_topic" "alarms" {
  name              = "niaga-${var.env}-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}
