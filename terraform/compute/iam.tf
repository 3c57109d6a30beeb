# One role per function, allowed only what that function needs: writing its own log group, reading
# the secrets the manifest lists for it, its items in the tables it lists, consuming its own queue (sqs
# functions), sending outbox events to the queues subscribed to them (functions with `outbox`), putting
# events on the project's bus (functions with `announces`), the exports/ prefix of the exports bucket
# (functions with `exports`), and managing VPC network interfaces when the functions run in a VPC.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = each.value.physical_name
  description        = "Runs the ${each.key} function (${var.env})."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid     = "OwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # Built from names rather than the log group's ARN, so the whole policy is known at plan time and the
    # least-privilege test can read it from the plan.
    resources = ["arn:aws:logs:${var.region}:${var.account_id}:log-group:/aws/lambda/${each.value.physical_name}:*"]
  }

  dynamic "statement" {
    for_each = length(each.value.secrets) == 0 ? [] : [each.value.secrets]
    content {
      sid       = "OwnSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [for s in statement.value : var.secret_arns[s]]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.tables) == 0 ? [] : [each.value.tables]
    content {
      sid       = "OwnTables"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      resources = [for t in statement.value : var.table_arns[t]]
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "sqs" ? [each.value.queue] : []
    content {
      sid = "OwnQueue"
      # GetQueueUrl and GetQueueAttributes: the worker finds its queue from the event's ARN to change a
      # message's visibility (backoff), and reads its redrive policy to know a message's last receive.
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
      ]
      resources = [var.queue_arns[statement.value]]
    }
  }

  # Functions with `outbox` send each event type to the queues subscribed to it.
  dynamic "statement" {
    for_each = each.value.outbox && length(local.queues_with_events) > 0 ? [1] : []
    content {
      sid       = "PublishOutboxEvents"
      actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
      resources = [for q in local.queues_with_events : var.queue_arns[q.name]]
    }
  }

  # Functions with `announces` put events on the project's bus only.
  dynamic "statement" {
    for_each = each.value.announces ? [1] : []
    content {
      sid       = "AnnounceEvents"
      actions   = ["events:PutEvents"]
      resources = [var.event_bus_arn]
    }
  }

  # Functions with `exports` reach the exports/ prefix of the exports bucket only: read to presign downloads,
  # write to store files.
  dynamic "statement" {
    for_each = each.value.exports == null ? [] : [each.value.exports]
    content {
      sid       = statement.value == "write" ? "WriteExports" : "ReadExports"
      actions   = statement.value == "write" ? ["s3:PutObject", "s3:AbortMultipartUpload"] : ["s3:GetObject"]
      resources = ["${var.exports_bucket_arn}/exports/*"]
    }
  }

  # HTTP functions behind CloudFront read the origin header's value (cdn.tf). Built from the name (the `-??????`
  # suffix Secrets Manager appends), so the policy is known at plan time.
  dynamic "statement" {
    for_each = each.value.kind == "http" && var.cdn_enabled ? [local.origin_secret_id] : []
    content {
      sid       = "OriginSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = ["arn:aws:secretsmanager:${var.region}:${var.account_id}:secret:${statement.value}-??????"]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "least-privilege"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}

# Creating, describing and deleting network interfaces has no resource-level scoping in IAM.
resource "aws_iam_role_policy_attachment" "vpc_access" {
  for_each = length(var.lambda_subnet_ids) == 0 ? {} : local.functions

  role       = aws_iam_role.function[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}
