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

  # Where the functions' EMF lines land (lambda_glue::metrics).
  namespace = "Niaga"
}

# The alarm topic is encrypted with a key of this layer: CloudWatch can publish to an encrypted topic only when
# the key policy lets cloudwatch.amazonaws.com use the key, and the AWS managed alias/aws/sns key's policy cannot
# be changed. A failed publish shows only in an alarm's history, never at apply time.
locals {
  account_id = coalesce(var.account_id, try(data.aws_caller_identity.current[0].account_id, null))
  topic_name = "niaga-${var.env}-alarms"
  # Built from names, so the policies are known at plan time.
  topic_arn = "arn:aws:sns:${var.region}:${local.account_id}:${local.topic_name}"
}

data "aws_caller_identity" "current" {
  count = var.account_id == null ? 1 : 0
}

data "aws_iam_policy_document" "alarm_key" {
  #checkov:skip=CKV_AWS_111:A key policy: its Resource "*" is the key itself, and administration stays with the account, where IAM policies decide who may act.
  #checkov:skip=CKV_AWS_356:A key policy: its Resource "*" means this key only; CloudWatch's statement is limited by aws:SourceAccount.
  #checkov:skip=CKV_AWS_109:A key policy must let the account administer its key, or the key becomes unmanageable; IAM policies in the account narrow who may.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alarms" {
  description         = "Encrypts the niaga-${var.env} alarm topic; CloudWatch alarms may use it to publish."
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alarm_key.json
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/niaga-${var.env}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = local.topic_name
  kms_master_key_id = aws_kms_key.alarms.arn
}

data "aws_iam_policy_document" "alarm_topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [local.topic_arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid = "AccountManages"
    actions = [
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
      "sns:Publish",
    ]
    resources = [local.topic_arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarm_topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}
