variable "env" {
  description = "Environment name used in every physical name (niaga-<env>-<function>). `local` for the emulator, `prod` for production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.env))
    error_message = "env must be 2-12 lowercase letters or digits, starting with a letter (for example local or prod)."
  }
}

variable "region" {
  description = "AWS region the functions run in (ap-southeast-3, Jakarta, in production)."
  type        = string
}

variable "aws_endpoint" {
  description = "Base URL of an AWS emulator (moto). null (the default) targets real AWS."
  type        = string
  default     = null
}

variable "account_id" {
  description = "The AWS account (the alarm key's and topic's policies name it). null asks STS for the caller's account."
  type        = string
  default     = null
}

variable "api_5xx_per_minute" {
  description = "Requests an HTTP function may answer with a 5xx in a minute (its errors_5xx metric) before it alarms. A handled 500 or 503 is a successful Lambda invocation, so the functions' Errors alarm never sees it."
  type        = number
  default     = 5
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each must confirm the subscription). Other subscribers (a pager, a chat webhook) attach to the topic's ARN."
  type        = list(string)
  default     = []
}

variable "api_p99_ms" {
  description = "p99 duration above which an HTTP function alarms, in milliseconds. Seed 002 asks for p95 200 ms at the API; p99 alarms at 1 s by default so an alarm means users notice."
  type        = number
  default     = 1000
}

variable "error_rate_percent" {
  description = "Share of a function's invocations that may fail in a minute before it alarms."
  type        = number
  default     = 5
}

variable "oldest_message_age_s" {
  description = "Age of a queue's oldest message, in seconds, above which the queue alarms (its consumer is stuck or too slow)."
  type        = number
  default     = 300
}

variable "erp_sync_error_rate_percent" {
  description = "Average erp_sync_error_rate (the share of ERP calls that failed) above which ERP sync alarms."
  type        = number
  default     = 20
}

variable "credit_rejections_per_minute" {
  description = "credit_check_rejection_count per minute above which checkout alarms: a spike means a bad ERP debt sync or a pricing mistake, not partners over their limits."
  type        = number
  default     = 30
}
