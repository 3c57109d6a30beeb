# The bucket that export jobs write to (thousands of rows, downloaded through presigned URLs).
# Private, encrypted, and self-cleaning: objects expire after var.exports_expiry_days.

locals {
  exports_bucket = coalesce(var.exports_bucket_name, "niaga-${var.env}-exports-${data.aws_caller_identity.current.account_id}")
}

resource "aws_s3_bucket" "exports" {
  #checkov:skip=CKV_AWS_21:Exports are derived files that expire after exports_expiry_days and can be regenerated from the database; versions would only keep them longer.
  #checkov:skip=CKV_AWS_144:Same reason: a derived, expiring file needs no copy in a second region.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts every object; a KMS key would make each presigned download need kms:Decrypt for the signer, with no reader gained.
  #checkov:skip=CKV_AWS_18:Downloads go through presigned links issued by reports-api, which logs who asked for which export; server access logs would need another bucket for the same facts.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to a new export object: export-worker records completion in the database itself.
  bucket        = local.exports_bucket
  force_destroy = !var.protect_data
}

resource "aws_s3_bucket_public_access_block" "exports" {
  bucket = aws_s3_bucket.exports.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "exports" {
  bucket = aws_s3_bucket.exports.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "exports" {
  bucket = aws_s3_bucket.exports.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "exports" {
  # Off on the emulator: its objects vanish with it, and the provider waits about a minute for moto to report
  # the rule back in the shape it expects.
  count  = var.exports_expiry_enabled ? 1 : 0
  bucket = aws_s3_bucket.exports.id

  rule {
    id     = "expire-exports"
    status = "Enabled"

    filter {}

    expiration {
      days = var.exports_expiry_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
