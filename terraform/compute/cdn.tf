# CloudFront in front of the HTTP API. The public catalogue routes (GET /products, GET /products/{sku}) are cached
# exactly as catalog-api's Cache-Control says (short max-age, stale-while-revalidate, ETag revalidation); every
# other route passes through uncached with the headers the API reads (Authorization, Idempotency-Key, ...).
#
# The API sees CloudFront's address, not the viewer's, and its execute-api URL stays reachable. So CloudFront
# sends two things the HTTP functions (lambda_glue::http and platform::origin) rely on:
# - a secret origin header (local.origin_header, value in the secret niaga/<env>/origin-verify, generated here
#   once): a request without it is refused with 403, so the execute-api URL cannot be used around CloudFront;
# - CloudFront-Viewer-Address (the viewer's IP:port), forwarded by the origin request policy below: per-source
#   budgets count it, and only on requests that carried the origin header.
# The policy lists the viewer headers it forwards, so a viewer's own copy of the origin header never reaches the
# API.

locals {
  # AWS managed policies, by their documented ids.
  cache_policy_use_origin_headers = "4cc15a8a-d715-48a4-82b8-cc0b614638fe" # UseOriginCacheControlHeaders-QueryStrings
  cache_policy_disabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # CachingDisabled
  origin_request_all_but_host     = "b689b0a8-53d0-40ab-baf2-68738e2966ac" # AllViewerExceptHostHeader

  # The emulator has no cache or origin request policies: there the managed ones stand in (var.cdn_policies).
  cdn_policies              = var.cdn_enabled && var.cdn_policies
  origin_request_policy     = local.cdn_policies ? aws_cloudfront_origin_request_policy.api[0].id : local.origin_request_all_but_host
  cache_policy_api          = local.cdn_policies ? aws_cloudfront_cache_policy.authorized[0].id : local.cache_policy_disabled
  response_headers_security = "67f7725c-6f97-4210-82d7-5512b31e9d03" # SecurityHeadersPolicy (HSTS, nosniff, frame options)
}

resource "aws_cloudfront_distribution" "api" {
  #checkov:skip=CKV_AWS_68:The edge limit is the HTTP API stage throttle, and per-partner and per-agent budgets are enforced in the functions; a WAF web ACL is an account-level decision (and cost) outside this stack.
  #checkov:skip=CKV2_AWS_47:No WAF web ACL is attached here (see CKV_AWS_68); the functions are Rust, with no Log4j.
  #checkov:skip=CKV_AWS_86:The HTTP API stage writes an access line per request already (api.tf); CloudFront standard logs would need a separate log bucket for the same facts.
  #checkov:skip=CKV_AWS_374:Partners, sales agents and AI agents may call from abroad; access is by token, not by country.
  #checkov:skip=CKV_AWS_310:One origin, the regional HTTP API: there is no second region to fail over to.
  #checkov:skip=CKV_AWS_305:An API, not a website: there is no root object to serve.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate allows only TLSv1 as its minimum; minimum_protocol_version TLSv1.2_2021 takes effect once a custom domain and certificate are attached.
  #checkov:skip=CKV2_AWS_32:Both behaviours attach the AWS managed SecurityHeadersPolicy by its id (local.response_headers_security); this graph check only recognises a policy resource declared in the same module.
  #checkov:skip=CKV2_AWS_42:A custom domain and its ACM certificate are the distributor's to choose; until then the cloudfront.net name is used.
  count = var.cdn_enabled ? 1 : 0

  enabled         = true
  comment         = "niaga-${var.env}: the HTTP API, with the public catalogue cached"
  is_ipv6_enabled = true
  price_class     = "PriceClass_200"

  origin {
    origin_id   = "api"
    domain_name = replace(aws_apigatewayv2_api.http.api_endpoint, "https://", "")

    custom_header {
      name  = local.origin_header
      value = terraform_data.origin_secret[0].output
    }

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  ordered_cache_behavior {
    path_pattern               = "/products*"
    target_origin_id           = "api"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.cache_policy_use_origin_headers
    origin_request_policy_id   = local.cdn_policies ? aws_cloudfront_origin_request_policy.api[0].id : local.origin_request_all_but_host
    response_headers_policy_id = local.response_headers_security
  }

  default_cache_behavior {
    target_origin_id           = "api"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.cdn_policies ? aws_cloudfront_cache_policy.authorized[0].id : local.cache_policy_disabled
    origin_request_policy_id   = local.cdn_policies ? aws_cloudfront_origin_request_policy.api[0].id : local.origin_request_all_but_host
    response_headers_policy_id = local.response_headers_security
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
    minimum_protocol_version       = "TLSv1.2_2021"
  }
}

locals {
  origin_header    = "x-niaga-origin-verify"
  origin_secret_id = "niaga/${var.env}/origin-verify"
}

# The origin header's value: 244 random bits, drawn once (uuid() reads the system's secure random source) and kept
# by ignore_changes. To rotate it, replace this resource: CloudFront and the secret change together, and the
# functions pick the new value up as their instances start (a configuration change starts fresh ones).
resource "terraform_data" "origin_secret" {
  count = var.cdn_enabled ? 1 : 0

  input = replace("${uuid()}${uuid()}", "-", "")

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_secretsmanager_secret" "origin" {
  #checkov:skip=CKV_AWS_149:Encrypted with the Secrets Manager AWS-managed key; only the HTTP functions' roles may read it (iam.tf), which a customer key would not narrow further.
  #checkov:skip=CKV2_AWS_57:The value is CloudFront's and this layer's own: rotating it means replacing terraform_data.origin_secret, which updates CloudFront and the secret in one apply.
  count = var.cdn_enabled ? 1 : 0

  name                    = local.origin_secret_id
  description             = "The value CloudFront sends in ${local.origin_header}; the HTTP functions refuse requests without it."
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "origin" {
  count = var.cdn_enabled ? 1 : 0

  secret_id     = aws_secretsmanager_secret.origin[0].id
  secret_string = terraform_data.origin_secret[0].output
}

# The viewer headers the API reads, and the viewer's address. Authorization (and the acting partner) travel in
# the cache policy below, as CloudFront requires for Authorization.
resource "aws_cloudfront_origin_request_policy" "api" {
  count = local.cdn_policies ? 1 : 0

  name    = "niaga-${var.env}-api"
  comment = "The API's request headers and CloudFront-Viewer-Address; never Host, never the origin header."

  headers_config {
    header_behavior = "whitelist"
    headers {
      items = [
        "CloudFront-Viewer-Address",
        "Accept",
        "Content-Type",
        "Idempotency-Key",
        "If-Match",
        "If-None-Match",
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
        "traceparent",
      ]
    }
  }
  cookies_config {
    cookie_behavior = "none"
  }
  query_strings_config {
    query_string_behavior = "all"
  }
}

# Everything but the catalogue: nothing is cached unless the API says so (default TTL 0; authenticated answers
# carry no shared max-age), and what is cached is keyed by the caller's token and acting partner.
resource "aws_cloudfront_cache_policy" "authorized" {
  count = local.cdn_policies ? 1 : 0

  name        = "niaga-${var.env}-authorized"
  comment     = "Pass-through for the API: TTL 0 unless the origin says otherwise, keyed by Authorization."
  min_ttl     = 0
  default_ttl = 0
  max_ttl     = 1

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = false
    enable_accept_encoding_gzip   = false
    headers_config {
      header_behavior = "whitelist"
      headers {
        items = ["Authorization", "X-Act-For-Partner"]
      }
    }
    cookies_config {
      cookie_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "all"
    }
  }
}
