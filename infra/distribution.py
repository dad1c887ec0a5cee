"""The CloudFront distribution every request to Spito passes through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import edge_headers
from .cdk_providers import skip_auto_delete_provider_checks
from .checkov import skip_check
from .data import deletes_its_objects
from .nag import acknowledge
from .routing import (
    API_FORWARDED_HEADERS,
    DEFAULT_ORIGIN,
    ORIGIN_FAILURE_PAGE,
    ROUTES,
    SPA_INDEX,
    Origin,
    Route,
)

SPA_FALLBACK_FUNCTION = Path(__file__).resolve().parent / "edge_function" / "spa_fallback.js"
API_ORIGIN_TIMEOUT = Duration.seconds(30)
ONE_YEAR = Duration.days(365)
# When the service cannot be reached, CloudFront answers the web app's "unavailable" page instead
# of its own generic error. Custom error responses belong to the whole distribution, not to a
# behaviour (DistributionConfig.CustomErrorResponses; CloudFront Developer Guide, "Custom error
# pages and error caching"), so they replace an error on every path, the API's included. Hence
# only the statuses the service itself never answers: 502 (CloudFront or the ALB got no valid
# answer from an instance) and 504 (no answer in time). 503 is left alone: the service answers it
# itself when storage is down, as problem JSON that API clients read (and as a page for
# browsers, service/visitor_pages.py); the ALB's own 503 comes only when no target is registered
# at all, since a target group of only unhealthy targets fails open (Elastic Load Balancing
# guide, "Health checks for Application Load Balancer target groups"). See docs/VISITORS.md.
ORIGIN_FAILURE_STATUSES = (502, 504)
# How long an edge keeps answering the page before asking the origin again: short, so a
# recovered fleet is seen within seconds, yet a storm of retries during an outage reaches the
# ALB at most once per 5 s per edge and path ("Error caching minimum TTL", same guide).
ORIGIN_FAILURE_CACHING = Duration.seconds(5)
# The API behaviours' cache policy exists for compression: with EnableAcceptEncodingGzip/Brotli
# CloudFront normalizes the viewer's Accept-Encoding into the cache key and sends it to the
# origin (API reference, ParametersInCacheKeyAndForwardedToOrigin), so the service's gzip
# (service/compression.py) reaches viewers, and CloudFront compresses only behind such a policy
# ("Serve compressed files", CloudFront Developer Guide). The flags need a TTL above 0
# ("Understand cache policies": all three at 0 disables caching). The
# service decides: the default TTL (for an answer without Cache-Control) is 0, and it marks
# every answer no-store (service/edge_caching.py), which CloudFront honours with a minimum TTL of
# 0 ("Manage how long content stays in the cache"). The maximum only bounds an answer the service
# would one day mark cacheable, to the 30 s within which Spito promises deletes and expiry.
API_MAX_TTL = Duration.seconds(30)
# What a GET answer of the service varies by, besides the path and the query string (all of it in
# the key): the Host (its URLs and own names), Accept (an HTML page or problem JSON) and the
# delete token (a link's stats). Whatever CloudFront keeps, even an error kept for the error
# caching minimum TTL whatever the service says ("Control how long CloudFront caches errors":
# no-store is honoured only on 404, 410, 414 and 501), is then served only to the same request.
API_CACHE_KEY_HEADERS = ("Host", "Accept", "X-Delete-Token")


@dataclass(frozen=True, kw_only=True)
class ApiOrigin:
    """How CloudFront reaches the API: a VPC origin to the internal ALB (infra/vpc_origin.py),
    and whether it speaks HTTPS to it."""

    origin: cloudfront.IOrigin
    https: bool


@dataclass(frozen=True, kw_only=True)
class ViewerDomain:
    """The custom host names viewers use, with their us-east-1 certificate."""

    names: Sequence[str]
    certificate: acm.ICertificate


class EdgeDistribution(Construct):
    """One CloudFront distribution: the web app from S3 (OAC), the API and short links from the
    internal ALB through a VPC origin.

    Behaviours are generated from `infra.routing.ROUTES`, in order, so the local dev router and
    the edge route every path the same way. Web app behaviours are cached (the files' own
    Cache-Control decides); those of routes with `spa_fallback` run the SPA fallback CloudFront
    Function, the others serve files as named ("/" is the default root object). API behaviours
    cache only what the service marks cacheable (nothing: it says no-store) with Accept-Encoding
    normalized into the key so CloudFront compresses, allow every method, forward the viewer's
    Host, scheme, query string and the headers the service reads
    (`infra.routing.API_FORWARDED_HEADERS`). Every response gets the
    security headers of `infra.edge_headers`. Viewers get HTTPS only (HTTP redirects),
    TLSv1.2_2021 at least, HTTP/2 and HTTP/3, IPv6; standard logs go to `log_bucket`.

    Attributes: `distribution`, `spa_fallback` (None when no route falls back),
    `response_headers_policy`, `spa_cache_policy`, `api_cache_policy`,
    `api_origin_request_policy`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spa_bucket: s3.IBucket,
        api_origin: ApiOrigin,
        log_bucket: s3.IBucket,
        price_class: cloudfront.PriceClass,
        viewer_domain: ViewerDomain | None = None,
        web_acl_arn: str | None = None,
        routes: Sequence[Route] = ROUTES,
        default_origin: Origin = DEFAULT_ORIGIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.response_headers_policy = self._response_headers_policy()
        self.spa_cache_policy = cloudfront.CachePolicy(
            self,
            "SpaCachePolicy",
            comment="Web app files: the objects' Cache-Control decides, compressed variants cached",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.days(1),
            max_ttl=ONE_YEAR,
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        self.api_cache_policy = cloudfront.CachePolicy(
            self,
            "ApiCachePolicy",
            comment="Spito API: the service's Cache-Control decides (no-store); compressed",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=API_MAX_TTL,
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list(*API_CACHE_KEY_HEADERS),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        self.api_origin_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "ApiOriginRequestPolicy",
            comment="Spito API: viewer host and scheme, query strings, headers the service reads",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(
                *API_FORWARDED_HEADERS
            ),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.spa_fallback = (
            cloudfront.Function(
                self,
                "SpaFallback",
                comment="Serve index.html for web app routes; files as named",
                code=cloudfront.FunctionCode.from_file(file_path=str(SPA_FALLBACK_FUNCTION)),
                runtime=cloudfront.FunctionRuntime.JS_2_0,
            )
            if any(route.spa_fallback for route in routes)
            else None
        )
        origins_by_kind: dict[Origin, cloudfront.IOrigin] = {
            Origin.SPA: origins.S3BucketOrigin.with_origin_access_control(spa_bucket),
            Origin.API: api_origin.origin,
        }
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Spito: web app from S3, API and short links from the ALB",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins_by_kind[default_origin],
                **self._behaviour_options(default_origin, spa_fallback=False),
            ),
            default_root_object=SPA_INDEX.lstrip("/"),
            domain_names=list(viewer_domain.names) if viewer_domain else None,
            certificate=viewer_domain.certificate if viewer_domain else None,
            # Only meaningful with a custom certificate; *.cloudfront.net's policy is fixed.
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if viewer_domain else None
            ),
            ssl_support_method=cloudfront.SSLMethod.SNI if viewer_domain else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_ipv6=True,
            price_class=price_class,
            web_acl_id=web_acl_arn,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            error_responses=_origin_failure_pages(),
        )
        for route in routes:
            self.distribution.add_behavior(
                route.pattern,
                origins_by_kind[route.origin],
                **self._behaviour_options(route.origin, spa_fallback=route.spa_fallback),
            )
        self._allow_listing_for_404s(spa_bucket)
        self._acknowledge_findings(
            api_origin=api_origin, viewer_domain=viewer_domain, web_acl_arn=web_acl_arn
        )

    def _behaviour_options(self, origin: Origin, *, spa_fallback: bool) -> dict[str, Any]:
        if origin is Origin.API:
            return {
                "viewer_protocol_policy": cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                "allowed_methods": cloudfront.AllowedMethods.ALLOW_ALL,
                "cached_methods": cloudfront.CachedMethods.CACHE_GET_HEAD,
                "cache_policy": self.api_cache_policy,
                "origin_request_policy": self.api_origin_request_policy,
                "response_headers_policy": self.response_headers_policy,
                "compress": True,
            }
        # Only app routes need the function: it runs (and is billed) on every request it sees.
        fallback = (
            [
                cloudfront.FunctionAssociation(
                    function=self.spa_fallback,
                    event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                )
            ]
            if spa_fallback and self.spa_fallback is not None
            else None
        )
        return {
            "viewer_protocol_policy": cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            "allowed_methods": cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            "cached_methods": cloudfront.CachedMethods.CACHE_GET_HEAD,
            "cache_policy": self.spa_cache_policy,
            "response_headers_policy": self.response_headers_policy,
            "compress": True,
            "function_associations": fallback,
        }

    def _response_headers_policy(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Spito security headers; the service's own stricter CSP (raw pastes) wins",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.seconds(edge_headers.HSTS_MAX_AGE_SECONDS),
                    include_subdomains=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=edge_headers.CONTENT_SECURITY_POLICY,
                    override=False,
                ),
            ),
        )

    def _allow_listing_for_404s(self, spa_bucket: s3.IBucket) -> None:
        """Let this distribution list the bucket, so a missing file is a 404 rather than a 403."""
        spa_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudFrontListForNotFound",
                principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                actions=["s3:ListBucket"],
                resources=[spa_bucket.bucket_arn],
                conditions={"StringEquals": {"AWS:SourceArn": self.distribution.distribution_arn}},
            )
        )

    def _acknowledge_findings(
        self, *, api_origin: ApiOrigin, viewer_domain: ViewerDomain | None, web_acl_arn: str | None
    ) -> None:
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "A public URL shortener and pastebin serves every country; abuse is handled by the "
            "service's own rate limit and, where it is on, the WAF's rate limit and IP "
            "reputation list, not by geography.",
        )
        if web_acl_arn is None:
            waf_off = (
                "WAF is off in this stage's config (spito.edge.waf_enabled) to save its fixed "
                "monthly cost; prod turns it on. The service rate-limits writes itself."
            )
            skip_check(self.distribution, "CKV_AWS_68", waf_off)
            acknowledge(self.distribution, "AwsSolutions-CFR2", waf_off)
        if not api_origin.https:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR5",
                "No custom domain, so the ALB has no certificate CloudFront could verify: "
                "CloudFront reaches the internal ALB over HTTP through its VPC origin, inside the "
                "VPC, where the ALB admits only CloudFront's VPC-origin group. Configure a domain "
                "for HTTPS (docs/ORIGIN-AND-EGRESS.md).",
            )
        if viewer_domain is None:
            default_certificate = (
                "No custom domain: viewers use the default *.cloudfront.net certificate, whose "
                "TLS policy CloudFront fixes. With a domain, TLSv1.2_2021 is the minimum."
            )
            skip_check(self.distribution, "CKV_AWS_174", default_certificate)
            acknowledge(self.distribution, "AwsSolutions-CFR4", default_certificate)


def _origin_failure_pages() -> list[cloudfront.ErrorResponse]:
    """The web app's "unavailable" page, with the status the origin failed with, for each status
    of `ORIGIN_FAILURE_STATUSES`; the page comes from the bucket through the `/*.*` behaviour."""
    return [
        cloudfront.ErrorResponse(
            http_status=status,
            response_http_status=status,
            response_page_path=ORIGIN_FAILURE_PAGE,
            ttl=ORIGIN_FAILURE_CACHING,
        )
        for status in ORIGIN_FAILURE_STATUSES
    ]


def access_log_bucket(
    scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy, retention_days: int
) -> s3.Bucket:
    """The bucket CloudFront's standard logs (and the web app bucket's access logs) go to.

    Standard logging writes with ACLs, so this one bucket is bucket-owner-preferred rather than
    owner-enforced; it is otherwise private, TLS-only and SSE-S3, and expires logs.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        removal_policy=removal_policy,
        auto_delete_objects=deletes_its_objects(removal_policy),
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(retention_days))],
    )
    if deletes_its_objects(removal_policy):
        skip_auto_delete_provider_checks(bucket)
    no_logs_of_logs = (
        "This bucket receives the edge's access logs; logging access to the log bucket itself "
        "would need yet another bucket, without end."
    )
    skip_check(bucket, "CKV_AWS_18", no_logs_of_logs)
    acknowledge(bucket, "AwsSolutions-S1", no_logs_of_logs)
    skip_check(
        bucket,
        "CKV_AWS_21",
        "Access logs are written once and expire by lifecycle; versions would only keep expired "
        "logs longer.",
    )
    return bucket
