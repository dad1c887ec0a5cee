"""Response compression: gzip for bodies worth it, when the client accepts gzip.

CloudFront compresses only what its cache policy lets it cache, and the API behaviours use
CachingDisabled, so every API answer and paste would otherwise cross the internet at full size
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html).
The service compresses instead, with Starlette's own GZipMiddleware (the service is Starlette;
no new dependency): bodies of `MINIMUM_BYTES` or more, for a client whose Accept-Encoding names
gzip, with `Vary: Accept-Encoding`; already-encoded, partial and binary media types pass
untouched. The cached 302s of the hot path are answered before this layer (service/app.py) and
every redirect body is empty, so no redirect is ever compressed. Brotli would need a compiled
dependency for a few percent more; gzip is what every client accepts.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp

# Below about 1 KB gzip's header and a TCP packet's size leave nothing to gain.
MINIMUM_BYTES = 1024
# zlib's default: most of level 9's ratio for a fraction of its CPU, on a 2-vCPU instance.
LEVEL = 6


def compressed(app: ASGIApp) -> ASGIApp:
    """`app` with its responses gzip-compressed where the client accepts it and it pays."""
    return GZipMiddleware(app, minimum_size=MINIMUM_BYTES, compresslevel=LEVEL)
