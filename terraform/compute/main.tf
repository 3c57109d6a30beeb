# Everything here is derived from the manifest: each function, route, schedule and queue consumer
# exists because niaga.json lists it. Nothing is spelled out by hand, and the drift test
# (xtask/tests/drift.rs) plans this layer and compares its route keys with the manifest's.

locals {
  manifest = jsondecode(file("${path.module}/../../niaga.json"))
  defaults = local.manifest.defaults

  artifacts_dir = abspath(coalesce(var.artifacts_dir, "${path.module}/../../target/lambda"))

  functions = {
    for f in local.manifest.functions : f.name => {
      kind                 = f.kind
      description          = f.description
      memory_mb            = f.memory_mb
      timeout_s            = f.timeout_s
      secrets              = lookup(f, "secrets", [])
      routes               = lookup(f, "routes", [])
      queue                = lookup(f, "queue", null)
      batch_size           = lookup(f, "batch_size", null)
      max_concurrency      = lookup(f, "max_concurrency", null)
      reserved_concurrency = lookup(f, "reserved_concurrency", null)
      outbox               = lookup(f, "outbox", false)
      tables               = lookup(f, "tables", [])
      announces            = lookup(f, "announces", false)
      exports              = lookup(f, "exports", null)
      latency_critical     = lookup(f, "latency_critical", false)
      egress               = lookup(f, "egress", [])
      physical_name        = "niaga-${var.env}-${f.name}"
      zip                  = "${local.artifacts_dir}/${f.name}/bootstrap.zip"
    }
  }

  http_functions = { for k, f in local.functions : k => f if f.kind == "http" }
  # Every invoker (API integrations, schedules and warm-ups, queue mappings, invoke permissions) calls a function
  # through this alias, and provisioned concurrency attaches to it (warm.tf), so warm-ups warm what serves.
  alias = "live"
  # Provisioned concurrency in business hours (warm.tf).
  warm_functions = { for k, f in local.http_functions : k => f if f.latency_critical }

  # Event type => the queues subscribed to it, from each manifest queue's `events`.
  queues_with_events = [for q in lookup(local.manifest, "queues", []) : q if length(lookup(q, "events", [])) > 0]
  outbox_routes = {
    for t in distinct(flatten([for q in local.queues_with_events : q.events])) : t => [
      for q in local.queues_with_events : { queue = q.name, fifo = lookup(q, "fifo", false) } if contains(q.events, t)
    ]
  }
  sqs_functions = { for k, f in local.functions : k => f if f.kind == "sqs" }

  # Route key ("GET /products/{sku}") => the function serving it.
  routes = merge([
    for k, f in local.functions : { for r in f.routes : "${r.method} ${r.path}" => k }
  ]...)

  schedules = { for s in lookup(local.manifest, "schedules", []) : s.name => s }

  # "<schedule>/<function>" => one EventBridge target, with the manifest's constant input if any.
  schedule_targets = merge([
    for s in values(local.schedules) : {
      for t in s.targets : "${s.name}/${t}" => {
        schedule = s.name
        function = t
        input    = lookup(s, "input", null) == null ? null : jsonencode(s.input)
      }
    }
  ]...)

  # The environment every function starts with; platform's typed config reads it at cold start.
  common_environment = merge(
    {
      NIAGA_ENV           = var.env
      NIAGA_APP_SECRET_ID = "niaga/${var.env}/app"
      NIAGA_DB_SECRET_ID  = "niaga/${var.env}/database"
      # Every function knows the name; only those listing `payments` in niaga.json may read it (iam.tf).
      NIAGA_PAYMENTS_SECRET_ID = "niaga/${var.env}/payments"
      # Which queues take which outbox events; only functions with `outbox` may send (iam.tf).
      NIAGA_OUTBOX_ROUTES = jsonencode(local.outbox_routes)
      DATABASE_TLS        = var.database_tls
    },
    var.erp_url == null ? {} : { NIAGA_ERP_URL = var.erp_url },
    var.payments_status_url == null ? {} : { NIAGA_PAYMENTS_STATUS_URL = var.payments_status_url },
    var.exports_bucket == null ? {} : { NIAGA_EXPORTS_BUCKET = var.exports_bucket },
    var.database_url == null ? {} : {
      DATABASE_URL        = var.database_url
      DATABASE_READER_URL = coalesce(var.database_reader_url, var.database_url)
      # Each endpoint is verified against the authority that signs its certificate: the proxy's ACM chain for
      # the writer, the RDS CA for the replica's own endpoint (the writer's when there is no replica).
      DATABASE_CA        = var.database_ca
      DATABASE_READER_CA = var.database_reader_url == null ? var.database_ca : var.database_reader_ca
    },
    local.emulated ? { AWS_ENDPOINT_URL = var.aws_endpoint } : {},
  )

  # What the HTTP functions add behind CloudFront (cdn.tf): the header CloudFront sends to prove a request came
  # through it, and the secret holding its value. Without them (the local stack) no header is required.
  origin_environment = var.cdn_enabled ? {
    NIAGA_ORIGIN_HEADER    = local.origin_header
    NIAGA_ORIGIN_SECRET_ID = local.origin_secret_id
  } : {}
}
