variable "env" {
  description = "Environment name used in every physical name. `prod` in production; the local stack has no network layer (its functions run outside any VPC)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.env))
    error_message = "env must be 2-12 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region (ap-southeast-3, Jakarta, in production)."
  type        = string
}

variable "aws_endpoint" {
  description = "Base URL of an AWS emulator (moto), for trying the layer locally. null targets real AWS."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "The VPC's address range."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Two (or more) availability zones for the private subnets: the functions, the database and the endpoints span them."
  type        = list(string)
  default     = ["ap-southeast-3a", "ap-southeast-3b"]

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "at least two availability zones: RDS and RDS Proxy need subnets in two."
  }
}

variable "interface_endpoints" {
  description = "AWS services the functions reach through interface VPC endpoints (private DNS), so AWS calls never cross the NAT gateway: queues, secrets and the event bus. DynamoDB and S3 use gateway endpoints. (Logs need none: the Lambda service, not the function, delivers them.)"
  type        = list(string)
  default     = ["sqs", "secretsmanager", "events"]
}

variable "nat_gateway_per_zone" {
  description = "One NAT gateway per availability zone (a zone's outage leaves the others' egress up) instead of one shared by all zones (cheaper). Only the functions with `egress` in niaga.json use it."
  type        = bool
  default     = false
}
