# One role per function, allowed only what that function needs: writing its own log group, reading
# the secrets the manifest lists for it, its items in the tables it lists, consuming its own queue (sqs
# functions), sending outbox events
# to the queues subscribed to them (functions with `outbox`), putting events on the project's bus (functions
# with `announces`), and managing VPC network interfaces when
# the functions run in a VPC.

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
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
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
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
      ]
      resources = [var.queue_arns[statement.value]]
    }
  }
}

# Added to the document above for functions that relay outbox events.
data "aws_iam_policy_document" "outbox" {
  for_each = { for k, f in local.functions : k => f if f.outbox && length(local.queues_with_events) > 0 }

  source_policy_documents = [data.aws_iam_policy_document.function[each.key].json]

  statement {
    sid       = "PublishOutboxEvents"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = [for q in local.queues_with_events : var.queue_arns[q.name]]
  }
}

# Added for functions that announce domain events: PutEvents on the project's bus only.
data "aws_iam_policy_document" "announce" {
  for_each = { for k, f in local.functions : k => f if f.announces }

  source_policy_documents = [try(data.aws_iam_policy_document.outbox[each.key].json, data.aws_iam_policy_document.function[each.key].json)]

  statement {
    sid       = "AnnounceEvents"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name = "least-privilege"
  role = aws_iam_role.function[each.key].id
  policy = try(
    data.aws_iam_policy_document.announce[each.key].json,
    data.aws_iam_policy_document.outbox[each.key].json,
    data.aws_iam_policy_document.function[each.key].json,
  )
}

# Creating, describing and deleting network interfaces has no resource-level scoping in IAM.
resource "aws_iam_role_policy_attachment" "vpc_access" {
  for_each = length(var.lambda_subnet_ids) == 0 ? {} : local.functions

  role       = aws_iam_role.function[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}
