output "alarm_topic_arn" {
  description = "The SNS topic every alarm notifies; subscribe pagers and chat integrations here."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "The CloudWatch dashboard with business metrics beside latency and errors."
  value       = aws_cloudwatch_dashboard.niaga.dashboard_name
}
