# The HTTP API: one Lambda proxy integration (payload 2.0) per http function and one route per
# manifest route. Authentication is the functions' own (JWT signed with the app secret), so routes
# carry no API Gateway authorizer; the manifest's `public` flag is enforced in the function.

# CORS from niaga.json's `cors`: its lists, and the origins it allows in this environment (none: no CORS). The
# manifest refuses wildcard origins; the local gateway answers preflights from the same section.
locals {
  cors         = try(local.manifest.cors, null)
  cors_origins = local.cors == null ? [] : lookup(local.cors.allow_origins, var.env, [])
}

resource "aws_apigatewayv2_api" "http" {
  name          = "niaga-${var.env}"
  description   = "Niaga HTTP API (${var.env}); routes from niaga.json."
  protocol_type = "HTTP"

  dynamic "cors_configuration" {
    for_each = length(local.cors_origins) == 0 ? [] : [local.cors]
    content {
      allow_origins  = local.cors_origins
      allow_methods  = cors_configuration.value.allow_methods
      allow_headers  = cors_configuration.value.allow_headers
      expose_headers = cors_configuration.value.expose_headers
      max_age        = cors_configuration.value.max_age_s
    }
  }
}

resource "aws_apigatewayv2_integration" "function" {
  for_each = local.http_functions

  api_id             = aws_apigatewayv2_api.http.id
  integration_type   = "AWS_PROXY"
  integration_method = "POST"
  # Through the `live` alias, like every other invoker.
  integration_uri        = aws_lambda_alias.live[each.key].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:Authorization is in the functions: the catalogue and /health are public, /auth/token issues tokens, /payments/callback is verified by its signature, and every other route verifies its JWT and role with the shared Authenticator (tested through the gateway).
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

  # One JSON line per request: no headers, no query string, no body, so no token or key is ever logged.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      latencyMs          = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      requestTime        = "$context.requestTimeEpoch"
    })
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (30 in production); access lines are for operations, not an audit trail.
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts every group at rest, and the access format carries no headers, tokens or bodies.
  name              = "/aws/apigateway/niaga-${var.env}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_permission" "api" {
  for_each = local.http_functions

  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
  qualifier     = aws_lambda_alias.live[each.key].name
}
