# Everything here is derived from the manifest, the one list of queues, secrets and tables; adding an
# entry to niaga.json adds the resources, without editing terraform.

locals {
  manifest = jsondecode(file("${path.module}/../../niaga.json"))

  # lookup() with defaults, so an entry may leave out optional fields, as it may for the Rust loader.
  queues = {
    for q in lookup(local.manifest, "queues", []) : q.name => {
      fifo                 = lookup(q, "fifo", false)
      visibility_timeout_s = q.visibility_timeout_s
      max_receive_count    = q.max_receive_count
      # Naming as in xtask (queue_physical_name): niaga-<env>-<name>[.fifo].
      physical_name     = "niaga-${var.env}-${q.name}${lookup(q, "fifo", false) ? ".fifo" : ""}"
      dlq_physical_name = "niaga-${var.env}-${q.name}-dlq${lookup(q, "fifo", false) ? ".fifo" : ""}"
    }
  }

  secrets      = { for s in lookup(local.manifest, "secrets", []) : s.name => s }
  secret_names = keys(local.secrets)

  tables = {
    for t in lookup(local.manifest, "tables", []) : t.name => {
      hash_key      = t.hash_key
      range_key     = lookup(t, "range_key", null)
      ttl_attribute = lookup(t, "ttl_attribute", null)
    }
  }
}

data "aws_caller_identity" "current" {}
