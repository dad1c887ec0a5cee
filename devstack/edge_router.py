"""The local stand-in for CloudFront: one port that serves the web app and proxies the API.

It is nginx, configured here from the routing table: `python -m devstack.edge_router` writes the
configuration and execs nginx (one process, no master: it is the process `make dev` started,
so it stops with it, devstack/lifeline.py). Why nginx rather than a Python proxy: the router
must not be what a local load test or the web app measures. A Python proxy parses every request
and response once more in the same interpreter that the service's own cost is compared with,
and on a 2-core laptop it answered a cached short link at about 1 % of the service's rate;
nginx proxies over pooled keep-alive connections and serves the files itself, at a small
fraction of the service's cost per request (`make bench` prints the ratio,
docs/BENCHMARKS.md). It is Debian's package, which `make dev` installs like the other tools
(deps/ensure-apt.sh).

What it guarantees, as the edge does (tests/edge/test_dev_router.py):

- Paths are routed by `infra.routing.ROUTES` (the table CloudFront's behaviours are generated
  from), in order, first match wins: one nginx regex location per route, the default behaviour
  last. The web app's files come from `web/dist` with the same index.html fallback as the
  edge's CloudFront Function (`spa_object_key`, as an nginx map); only GET and HEAD.
- Like CloudFront's origin request policy, the proxy forwards only the viewer headers of
  `infra.routing.VIEWER_HEADERS` (a header the service starts reading fails here as in
  production until it is added there), sets the headers CloudFront adds itself, and appends the
  client address to X-Forwarded-For. The request target goes on as the client sent it.
- Responses carry the edge's security headers (`infra.edge_headers`): the enforced ones replace
  the service's, the Content-Security-Policy is the service's if it sent one (the raw paste view
  keeps its stricter one), so the web app meets the production CSP locally.
- Errors never name a file or the service's address: a missing file is a problem JSON 404, a
  method the web app refuses a 403. When the service does not answer (502) or not in time
  (504), /api/* gets problem JSON and every other path the web app's "unavailable" page
  (`ORIGIN_FAILURE_PAGE` in web/dist, as CloudFront's custom error response answers it), or a
  line of plain text when the build has none.

`devstack.stack` starts it on `make dev`'s public port when the web app is built:

    python -m devstack.edge_router --port 8080 --upstream http://127.0.0.1:8081 \
        --web-dist web/dist --work-dir .local/router
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from infra.edge_headers import (
    DEFAULT_HEADERS,
    ENFORCED_HEADERS,
    HASHED_ASSET_CACHE_CONTROL,
    HASHED_ASSETS_PREFIX,
    REVALIDATED_CACHE_CONTROL,
)
from infra.routing import (
    DEFAULT_ORIGIN,
    ORIGIN_FAILURE_PAGE,
    ROUTES,
    SPA_INDEX,
    VIEWER_HEADERS,
    Origin,
    Route,
)

ORIGIN_TIMEOUT_SECONDS = 30.0  # CloudFront's default origin response timeout
ORIGIN_FAILURES = {502: "Bad Gateway", 504: "Gateway Timeout"}
UNAVAILABLE_TEXT = "Spito's service is not answering right now; try again in a moment.\n"
API_PREFIX_ROUTE = "/api/*"  # its failures are problem JSON, for the programs that call it
SPA_METHODS = ("GET", "HEAD")  # the bucket's behaviours allow only these
# Connections to the service kept open between requests: below the service's keep-alive
# (SPITO_KEEP_ALIVE_SECONDS, over 60 s), so nginx never reuses one the service is closing.
UPSTREAM_KEEPALIVE_CONNECTIONS = 64
UPSTREAM_KEEPALIVE_SECONDS = 50
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")


@dataclass(frozen=True, kw_only=True)
class RouterConfig:
    port: int
    upstream: str  # the service's base URL, http://127.0.0.1:PORT
    web_dist: Path
    work_dir: Path  # nginx's configuration, pid file and temporary files
    host: str = "127.0.0.1"
    origin_timeout_seconds: float = ORIGIN_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        upstream = urlsplit(self.upstream)
        if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
            raise ValueError(f"--upstream must be http://HOST:PORT, not {self.upstream!r}")
        if self.origin_timeout_seconds <= 0:
            raise ValueError("--origin-timeout must be a positive number of seconds")


def _quoted(value: str) -> str:
    """An nginx string: double-quoted, `\\` and `"` escaped, without `$` (nginx reads a variable
    there, in a value)."""
    if "$" in value:
        raise ValueError(f"an nginx string here cannot contain $: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pattern_body(pattern: str) -> str:
    """CloudFront's path pattern as a PCRE (`infra.routing.matches`), without anchors."""
    return "".join(
        ".*" if char == "*" else "." if char == "?" else _pcre_literal(char) for char in pattern
    )


def _pattern_regex(pattern: str) -> str:
    """The PCRE matching exactly the paths `pattern` matches (any character, newline too; `\\z`,
    not `$`, which would also match before a final newline)."""
    return f"(?s)^{_pattern_body(pattern)}\\z"


def _pcre_literal(char: str) -> str:
    return char if char.isalnum() or char in "/-_" else "\\" + char


def _problem(status: int, title: str, detail: str) -> list[str]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return [
        "types { }",  # the type comes from default_type, not from the path's extension
        "default_type application/problem+json;",
        f"return {status} {_quoted(json.dumps(body))};",
    ]


def _security_headers() -> list[str]:
    lines = [f"proxy_hide_header {name};" for name in (*ENFORCED_HEADERS, *DEFAULT_HEADERS)]
    lines += [
        f"add_header {name} {_quoted(value)} always;" for name, value in ENFORCED_HEADERS.items()
    ]
    lines += [f"add_header {name} $edge_{_var(name)} always;" for name in DEFAULT_HEADERS]
    return lines


def _var(header: str) -> str:
    return header.lower().replace("-", "_")


def _block(head: str, lines: list[str]) -> list[str]:
    return [f"{head} {{", *(f"  {line}" for line in lines), "}"]


def _maps() -> list[str]:
    """The nginx maps: default headers, the web app's object for a path, its Cache-Control."""
    lines: list[str] = []
    for name, value in DEFAULT_HEADERS.items():
        lines += _block(
            f"map $upstream_http_{_var(name)} $edge_{_var(name)}",
            [f'"" {_quoted(value)};', f"default $upstream_http_{_var(name)};"],
        )
    # spa_object_key: "/" and, under a route with the fallback, an app route (no dot in its
    # last segment) are SPA_INDEX; any other path is the file it names. Regexes are tried in
    # order, so each route's entries come in the table's order, first match wins.
    keys = [f"/ {_quoted(SPA_INDEX)};"]
    for route in ROUTES:
        if route.spa_fallback:
            app_route = f"(?s)^(?={_pattern_body(route.pattern)}\\z).*/[^/.]*\\z"
            keys.append(f"{_quoted('~' + app_route)} {_quoted(SPA_INDEX)};")
        keys.append(f"{_quoted('~' + _pattern_regex(route.pattern))} $uri;")
    lines += _block("map $uri $spa_key", [*keys, "default $uri;"])
    lines += _block(
        "map $spa_key $spa_cache_control",
        [
            f"{_quoted(f'~^/{HASHED_ASSETS_PREFIX}')} {_quoted(HASHED_ASSET_CACHE_CONTROL)};",
            f"default {_quoted(REVALIDATED_CACHE_CONTROL)};",
        ],
    )
    return lines


def _types() -> list[str]:
    """Content types by extension, as Python's `mimetypes` has them (as the old router sent)."""
    mimetypes.init()
    by_type: dict[str, list[str]] = defaultdict(list)
    # nginx matches extensions whatever their case: one type per extension.
    by_extension = {ext.lstrip(".").lower(): kind for ext, kind in mimetypes.types_map.items()}
    for extension, content_type in sorted(by_extension.items()):
        by_type[content_type].append(extension)
    return _block("types", [f"{kind} {' '.join(exts)};" for kind, exts in sorted(by_type.items())])


def _spa_location() -> list[str]:
    return [
        f"if ($request_method !~ ^({'|'.join(SPA_METHODS)})$) {{ return 405; }}",
        "error_page 405 = @spa_method_refused;",
        "error_page 403 404 = @spa_not_found;",  # 403: a directory, which has no file to serve
        "try_files $spa_key =404;",
        "add_header Cache-Control $spa_cache_control always;",
        *_security_headers(),
    ]


def _api_location(route: Route, config: RouterConfig, *, failure_page: bool) -> list[str]:
    timeout = f"{round(config.origin_timeout_seconds * 1000)}ms"
    failure = "api" if route.pattern == API_PREFIX_ROUTE else "page"
    return [
        "proxy_pass http://spito_service;",  # no URI part: the target goes on as sent
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',  # keep-alive to the service
        "proxy_pass_request_headers off;",  # the origin request policy's allow-list below
        *(f"proxy_set_header {name} $http_{_var(name)};" for name in VIEWER_HEADERS),
        # What CloudFront adds (infra.routing.CLOUDFRONT_HEADERS), and then the ALB.
        "proxy_set_header CloudFront-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_redirect off;",
        f"proxy_connect_timeout {timeout};",
        f"proxy_send_timeout {timeout};",
        f"proxy_read_timeout {timeout};",
        *(
            f"error_page {status} = @{failure}_{status};"
            if failure == "api" or not failure_page
            # A redirect to the page's path, which routes to the web app (it names a file):
            # served from web/dist, with the status the service failed with.
            else f"error_page {status} {ORIGIN_FAILURE_PAGE};"
            for status in ORIGIN_FAILURES
        ),
        *_security_headers(),
    ]


def _failure_locations(*, failure_page: bool) -> list[str]:
    lines: list[str] = []
    for status, title in ORIGIN_FAILURES.items():
        detail = (
            "The service did not answer." if status == 502 else "The service answered too late."
        )
        lines += _block(
            f"location @api_{status}", [*_problem(status, title, detail), *_security_headers()]
        )
        if not failure_page:
            lines += _block(
                f"location @page_{status}",
                [
                    "types { }",
                    "default_type text/plain;",
                    f"return {status} {_quoted(UNAVAILABLE_TEXT)};",
                    *_security_headers(),
                ],
            )
    return lines


def render(config: RouterConfig) -> str:
    """nginx.conf for `config`, generated from the routing table."""
    work = config.work_dir.resolve()
    upstream = urlsplit(config.upstream)
    failure_page = (config.web_dist / ORIGIN_FAILURE_PAGE.lstrip("/")).is_file()
    locations: list[str] = []
    for route in ROUTES:
        location = f"location ~ {_quoted(_pattern_regex(route.pattern))}"
        if route.origin is Origin.API:
            locations += _block(location, _api_location(route, config, failure_page=failure_page))
        else:
            locations += _block(location, _spa_location())
    default = _spa_location() if DEFAULT_ORIGIN is Origin.SPA else []
    locations += _block("location /", default)
    locations += _block(
        "location @spa_not_found",
        [*_problem(404, "Not Found", "No such file in the web app."), *_security_headers()],
    )
    locations += _block(
        "location @spa_method_refused",
        [
            *_problem(403, "Forbidden", "The web app answers only GET and HEAD."),
            *_security_headers(),
        ],
    )
    locations += _failure_locations(failure_page=failure_page)
    server = [
        f"listen {config.host}:{config.port};",
        f"root {_quoted(str(config.web_dist.resolve()))};",
        "merge_slashes off;",  # a path reaches routing as the viewer sent it, as at the edge
        *locations,
    ]
    http = [
        "access_log off;",
        "server_tokens off;",
        "client_max_body_size 0;",  # the service enforces its own limits, with problem JSON
        *(
            f"{kind}_temp_path {_quoted(str(work / kind))};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        *_types(),
        "types_hash_max_size 4096;",
        "default_type application/octet-stream;",
        *_block(
            "upstream spito_service",
            [
                f"server {upstream.hostname}:{upstream.port};",
                f"keepalive {UPSTREAM_KEEPALIVE_CONNECTIONS};",
                f"keepalive_timeout {UPSTREAM_KEEPALIVE_SECONDS}s;",
            ],
        ),
        *_maps(),
        *_block("server", server),
    ]
    main = [
        "# Generated by devstack/edge_router.py from infra/routing.py; rewritten at every start.",
        "daemon off;",
        "master_process off;",  # one process: the one `make dev` started (see the docstring)
        f"pid {_quoted(str(work / 'nginx.pid'))};",
        "error_log stderr warn;",
        *_block("events", ["worker_connections 4096;"]),
        *_block("http", http),
    ]
    return "\n".join(main) + "\n"


def nginx_binary() -> str | None:
    return next((found for name in NGINX_CANDIDATES if (found := shutil.which(name))), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="the public port")
    parser.add_argument("--upstream", required=True, help="the service's base URL")
    parser.add_argument("--web-dist", type=Path, default=Path("web/dist"))
    parser.add_argument("--work-dir", type=Path, required=True, help="nginx's files go here")
    parser.add_argument("--origin-timeout", type=float, default=ORIGIN_TIMEOUT_SECONDS)
    args = parser.parse_args()
    try:
        config = RouterConfig(
            port=args.port,
            upstream=args.upstream,
            web_dist=args.web_dist,
            work_dir=args.work_dir,
            host=args.host,
            origin_timeout_seconds=args.origin_timeout,
        )
    except ValueError as error:
        parser.error(str(error))
    nginx = nginx_binary()
    if nginx is None:
        print("edge router: nginx is not installed; run deps/ensure-apt.sh nginx", file=sys.stderr)
        return 2
    config.work_dir.mkdir(parents=True, exist_ok=True)
    conf = config.work_dir / "nginx.conf"
    conf.write_text(render(config))
    # exec, not a child: nginx keeps this process's parent-death signal (devstack/lifeline.py).
    os.execv(  # noqa: S606 - nginx, by its absolute path, with arguments built here
        nginx,
        [nginx, "-e", "stderr", "-p", str(config.work_dir.resolve()), "-c", str(conf.resolve())],
    )
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())
