# CloudFront in front of the HTTP API. The public catalogue routes (GET /products, GET /products/{sku}) are cached
# exactly as catalog-api's Cache-Control says (short max-age, stale-while-revalidate, ETag revalidation); every
# other route passes through uncached with the viewer's headers (Authorization, Idempotency-Key) intact.

locals {
  # AWS managed policies, by their documented ids.
  cache_policy_use_origin_headers = "4cc15a8a-d715-48a4-82b8-cc0b614638fe" # UseOriginCacheControlHeaders-QueryStrings
  cache_policy_disabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # CachingDisabled
  origin_request_all_but_host     = "b689b0a8-53d0-40ab-baf2-68738e2966ac" # AllViewerExceptHostHeader
  response_headers_security       = "67f7725c-6f97-4210-82d7-5512b31e9d03" # SecurityHeadersPolicy (HSTS, nosniff, frame options)
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
    origin_request_policy_id   = local.origin_request_all_but_host
    response_headers_policy_id = local.response_headers_security
  }

  default_cache_behavior {
    target_origin_id           = "api"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.cache_policy_disabled
    origin_request_policy_id   = local.origin_request_all_but_host
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
