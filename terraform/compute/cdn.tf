# CloudFront in front of the HTTP API. The public catalogue routes (GET /products, GET /products/{sku}) are cached
# exactly as catalog-api's Cache-Control says (short max-age, stale-while-revalidate, ETag revalidation); every
# other route passes through uncached with the viewer's headers (Authorization, Idempotency-Key) intact.

locals {
  # AWS managed policies, by their documented ids.
  cache_policy_use_origin_headers = "4cc15a8a-d715-48a4-82b8-cc0b614638fe" # UseOriginCacheControlHeaders-QueryStrings
  cache_policy_disabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # CachingDisabled
  origin_request_all_but_host     = "b689b0a8-53d0-40ab-baf2-68738e2966ac" # AllViewerExceptHostHeader
}

resource "aws_cloudfront_distribution" "api" {
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
    path_pattern             = "/products*"
    target_origin_id         = "api"
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD", "OPTIONS"]
    cached_methods           = ["GET", "HEAD"]
    compress                 = true
    cache_policy_id          = local.cache_policy_use_origin_headers
    origin_request_policy_id = local.origin_request_all_but_host
  }

  default_cache_behavior {
    target_origin_id         = "api"
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods           = ["GET", "HEAD"]
    compress                 = true
    cache_policy_id          = local.cache_policy_disabled
    origin_request_policy_id = local.origin_request_all_but_host
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
