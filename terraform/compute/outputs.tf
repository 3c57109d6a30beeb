output "api_endpoint" {
  description = "Base URL of the HTTP API's $default stage."
  value       = aws_apigatewayv2_api.http.api_endpoint
}

output "function_names" {
  description = "Physical Lambda function name, by manifest name."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_arns" {
  description = "Lambda function ARN, by manifest name."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "route_keys" {
  description = "Every route key the HTTP API serves, sorted."
  value       = sort([for r in aws_apigatewayv2_route.this : r.route_key])
}

output "schedule_rules" {
  description = "EventBridge rule name, by manifest schedule name."
  value       = { for k, r in aws_cloudwatch_event_rule.schedule : k => r.name }
}

output "cdn_domain" {
  description = "CloudFront's domain for the API (null when cdn_enabled is false): clients use this, not api_endpoint."
  value       = try(aws_cloudfront_distribution.api[0].domain_name, null)
}
