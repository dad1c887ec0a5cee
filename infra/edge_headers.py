"""Headers the edge adds: security headers on every response, Cache-Control on the web app's files.

The CloudFront response headers policy and the SPA bucket deployment are built from these values,
and the local dev router sends the same ones, so the web app meets the production CSP on a laptop.
This module imports nothing from the CDK.
"""

from __future__ import annotations

HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 60 * 60  # two years
STRICT_TRANSPORT_SECURITY = f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"
CONTENT_TYPE_OPTIONS = "nosniff"
FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "strict-origin-when-cross-origin"
# The web app loads only its own files and calls only its own API; QR codes are drawn on a canvas
# and may be exported as data: or blob: images. No inline script or style is allowed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# Set on every response, replacing what the origin sent.
ENFORCED_HEADERS: dict[str, str] = {
    "strict-transport-security": STRICT_TRANSPORT_SECURITY,
    "x-content-type-options": CONTENT_TYPE_OPTIONS,
    "x-frame-options": FRAME_OPTIONS,
    "referrer-policy": REFERRER_POLICY,
}
# Set only when the origin sent none: the service's raw paste view keeps its stricter
# `default-src 'none'; sandbox`.
DEFAULT_HEADERS: dict[str, str] = {"content-security-policy": CONTENT_SECURITY_POLICY}

# Cache-Control of the web app's files. Vite names everything under assets/ by content hash, so
# those never change; index.html and the other root files keep their names and are revalidated.
HASHED_ASSETS_PREFIX = "assets/"
HASHED_ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
REVALIDATED_CACHE_CONTROL = "no-cache"


def spa_cache_control(key: str) -> str:
    """Cache-Control for the web app's object `key` (relative to the bucket root)."""
    is_hashed = key.lstrip("/").startswith(HASHED_ASSETS_PREFIX)
    return HASHED_ASSET_CACHE_CONTROL if is_hashed else REVALIDATED_CACHE_CONTROL
