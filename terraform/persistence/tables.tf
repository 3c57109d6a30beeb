# One DynamoDB table per manifest table: on-demand capacity, encrypted with the AWS-managed key,
# point-in-time recovery on, and TTL on the manifest's expiry attribute. Key attributes are strings.

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:The tables hold rate-limit counters, breaker state and a copy of the configuration: nothing personal or secret. The AWS-managed key encrypts them; a customer key would add cost and a key policy.
  for_each = local.tables

  name                        = "niaga-${var.env}-${each.key}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  deletion_protection_enabled = var.protect_data

  attribute {
    name = each.value.hash_key
    type = "S"
  }

  dynamic "attribute" {
    for_each = each.value.range_key == null ? [] : [each.value.range_key]
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}
