terraform {
  # 1.10 for S3-native state locking (use_lockfile); 1.9 for variable validations that read locals.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: the wrapper (terraform/tf) passes env/<env>.s3.tfbackend and the key
  # `<layer>/terraform.tfstate`. Production keeps state in a versioned S3 bucket with a lock file;
  # the local stack keeps it in the emulator's S3, so it lives and dies with the emulator.
  backend "s3" {}
}
