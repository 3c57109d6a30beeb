# One Secrets Manager secret per manifest secret, named niaga/<env>/<name>. Functions receive the
# names (NIAGA_APP_SECRET_ID, NIAGA_DB_SECRET_ID) and read the values once at cold start.

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV_AWS_149:Encrypted with the Secrets Manager AWS-managed key; only each function's own role may read its secrets (the least-privilege test), which a customer key would not narrow further.
  #checkov:skip=CKV2_AWS_57:Rotation is the README's runbook (new database password on the instance and in the secret; functions refetch on an authentication failure); a rotation Lambda would be a function outside the manifest.
  for_each = local.secrets

  name                    = "niaga/${var.env}/${each.key}"
  description             = each.value.description
  recovery_window_in_days = var.secret_recovery_window_days
}

# The first version only. Rotation (RDS for the database credentials, ops for the app keys) writes
# later versions, and terraform must not put the old value back.
resource "aws_secretsmanager_secret_version" "initial" {
  for_each = nonsensitive(toset(keys(var.secret_values)))

  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = var.secret_values[each.key]

  lifecycle {
    ignore_changes = [secret_string, version_stages]
  }
}
