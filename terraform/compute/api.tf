# The HTTP API: one Lambda proxy integration (payload 2.0) per http function and one route per
# manifest route. Authentication is the functions' own (JWT signed with the app secret), so routes
# carry no API Gateway authorizer; the manifest's `public` flag is enforced in the function.

resource "aws_apigatewayv2_api" "http" {
  name          = "niaga-${var.env}"
  description   = "Niaga HTTP API (${var.env}); routes from niaga.json."
  protocol_type = "HTTP"

  dynamic "cors_configuration" {
    for_each = length(var.cors_allow_origins) == 0 ? [] : [var.cors_allow_origins]
    content {
      allow_origins  = cors_configuration.value
      allow_methods  = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
      allow_headers  = ["authorization", "content-type", "idempotency-key", "if-none-match"]
      expose_headers = ["etag", "retry-after", "x-request-id"]
      max_age        = 600
    }
  }
}

resource "aws_apigatewayv2_integration" "function" {
  for_each = local.http_functions

  api_id             = aws_apigatewayv2_api.http.id
  integration_type   = "AWS_PROXY"
  integration_method = "POST"
  # Latency-critical functions are invoked through their `live` alias, where provisioned concurrency lives.
  integration_uri        = try(aws_lambda_alias.live[each.key].invoke_arn, aws_lambda_function.this[each.key].invoke_arn)
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "this" {
  for_each = local.routes

  api_id    = aws_apigatewayv2_api.http.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.function[each.value].id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.api_throttling_rate_limit
    throttling_burst_limit = var.api_throttling_burst_limit
  }
}

resource "aws_lambda_permission" "api" {
  for_each = local.http_functions

  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
  qualifier     = try(aws_lambda_alias.live[each.key].name, null)
}
