locals {
  # Set only for the local stack: every AWS call goes to the emulator (moto) with test credentials.
  emulated = var.aws_endpoint != null
}

provider "aws" {
  region = var.region

  skip_credentials_validation = local.emulated
  skip_requesting_account_id  = local.emulated
  skip_metadata_api_check     = local.emulated
  s3_use_path_style           = local.emulated
  access_key                  = local.emulated ? "test" : null
  secret_key                  = local.emulated ? "test" : null

  # Every service this layer calls, so no request meant for the emulator reaches real AWS.
  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint] : []
    content {
      cloudwatch = endpoints.value
      kms        = endpoints.value
      s3         = endpoints.value
      sns        = endpoints.value
      sts        = endpoints.value
    }
  }

  default_tags {
    tags = {
      Project   = "niaga"
      Env       = var.env
      Layer     = "observability"
      ManagedBy = "terraform"
    }
  }
}
