"""Spito's API service: `python -m service` serves it with uvicorn (settings from SPITO_*).

One job per module:
- `settings`: every environment variable, typed and validated at start.
- `http_server`: uvicorn's protocol, answering requests it cannot parse with problem JSON.
- `app`: assembles the ASGI app (the cached-redirect fast path, request logs, lifespan).
- `api`: routes and HTTP handling; `bodies`, `public_urls`, `problems`, `openapi` serve it.
- `core`: what Spito does (create, read, open, delete), with no HTTP and no boto3.
- `validation`, `ids`: pure rules for user input and identifiers.
- `table`, `blobs` (with `aws`): the only code that talks to DynamoDB and S3.
- `records`: links and pastes as plain data; `storage_errors`: what storage can raise.
- `cross_site`: refuses state-changing requests a browser sends for another site's page.
- `hot_cache`, `clicks`, `ratelimit`, `access_log`: in-process state and logging.
"""
