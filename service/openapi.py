"""The OpenAPI 3.1 document of every route, served at /openapi.json."""

from __future__ import annotations

from typing import Any

from service.moderation import MAX_DETAILS_CHARS, REPORT_REASONS
from service.settings import Settings
from service.validation import ID_PATTERN, MAX_URL_LENGTH, SYNTAXES

_ID_SCHEMA = {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"}
_ID = {"name": "id", "in": "path", "required": True, "schema": _ID_SCHEMA}
_TOKEN = {
    "name": "X-Delete-Token",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "The delete_token answered at creation.",
}
_EPOCH = {"type": "integer", "description": "Epoch seconds"}
_EXPIRES_AT = {"type": ["integer", "null"], "description": "Epoch seconds; null for never"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


_ERRORS = {
    "400": _problem("Invalid input"),
    "404": _problem("Unknown, expired or deleted id"),
    "503": _problem("Storage unavailable; retry later"),
}
_CROSS_SITE = _problem("A browser sent it for another site's page (cross-site-request)")
_CLICKS_BY_DAY = {
    "type": "array",
    "description": "The UTC days with clicks among the kept days (30 by default), oldest first",
    "items": {
        "type": "object",
        "required": ["date", "clicks"],
        "properties": {
            "date": {"type": "string", "format": "date"},
            "clicks": {"type": "integer", "minimum": 1},
        },
    },
}
_REDIRECT = {"Location": {"schema": {"type": "string", "format": "uri"}}}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Optional request fields accept null as "absent"."""
    return {"anyOf": [schema, {"type": "null"}]}


def _expires_in(settings: Settings) -> dict[str, Any]:
    choices: list[dict[str, Any]] = [
        {
            "type": "integer",
            "minimum": settings.expires_min_seconds,
            "maximum": settings.expires_max_seconds,
        },
        {"type": "null"},
    ]
    if settings.allow_never_expire:
        choices.append({"const": 0})
    return {
        "anyOf": choices,
        "description": "Seconds until expiry, within this deployment's limits"
        + ("; 0 asks for never" if settings.allow_never_expire else "")
        + ". Absent or null: the default for the kind.",
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The document for this deployment: expiry limits come from its settings."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Spito",
            "version": "1.0.0",
            "description": "URL shortener and pastebin. Every error is RFC 9457 problem JSON.",
        },
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "Liveness: 200 while the process runs",
                    "responses": {"200": _json("Status", "Alive")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: 200 only when storage answers",
                    "responses": {
                        "200": _json("Status", "Ready"),
                        "503": _problem("Storage unavailable"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api/v1/links": {
                "post": {
                    "summary": "Shorten a URL",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/NewLink"}}
                        },
                    },
                    "responses": {
                        "201": {**_json("CreatedLink", "Created"), "headers": _REDIRECT},
                        "400": _problem("Invalid input"),
                        "403": _CROSS_SITE,
                        "409": _problem("Slug taken"),
                        "413": _problem("Body too large"),
                        "415": _problem("Not JSON"),
                        "429": _problem("Rate limited; see Retry-After"),
                        "503": _problem("Storage unavailable"),
                    },
                }
            },
            "/api/v1/links/{id}": {
                "parameters": [_ID],
                "get": {
                    "summary": "A link's metadata (never counts a click)",
                    "responses": {"200": _json("Link", "The link"), **_ERRORS},
                },
                "delete": {
                    "summary": "Delete a link",
                    "parameters": [_TOKEN],
                    "responses": {
                        "204": {"description": "Deleted"},
                        "403": _problem(
                            "Missing or wrong delete token, or a browser sent it for another "
                            "site's page"
                        ),
                        **_ERRORS,
                    },
                },
            },
            "/api/v1/pastes": {
                "post": {
                    "summary": "Create a paste (JSON, or a raw text body with defaults)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewPaste"}
                            },
                            "text/plain": {"schema": {"type": "string", "minLength": 1}},
                            # What curl --data-binary sends without -H: the bytes, not a form.
                            "application/x-www-form-urlencoded": {
                                "schema": {"type": "string", "minLength": 1}
                            },
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Created: JSON for a JSON body, the page URL and a "
                            "newline for a raw text body (delete token in X-Delete-Token)",
                            "headers": _REDIRECT,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/CreatedPaste"}
                                },
                                "text/plain": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _problem("Invalid input"),
                        "403": _CROSS_SITE,
                        "413": _problem("Content too large"),
                        "415": _problem("Neither JSON nor UTF-8 text"),
                        "429": _problem("Rate limited; see Retry-After"),
                        "503": _problem(
                            "Storage unavailable, or too many large bodies at once (busy); "
                            "see Retry-After"
                        ),
                    },
                }
            },
            "/api/v1/pastes/{id}": {
                "parameters": [_ID],
                "get": {
                    "summary": "A paste; content is null for burn-after-reading pastes",
                    "responses": {"200": _json("Paste", "The paste"), **_ERRORS},
                },
                "delete": {
                    "summary": "Delete a paste",
                    "parameters": [_TOKEN],
                    "responses": {
                        "204": {"description": "Deleted"},
                        "403": _problem(
                            "Missing or wrong delete token, or a browser sent it for another "
                            "site's page"
                        ),
                        **_ERRORS,
                    },
                },
            },
            "/api/v1/pastes/{id}/open": {
                "parameters": [_ID],
                "post": {
                    "summary": "Read a burn-after-reading paste once: answers it and deletes it",
                    "responses": {
                        "200": _json("Paste", "The paste, now deleted"),
                        "403": _CROSS_SITE,
                        "409": _problem("Not a burn-after-reading paste"),
                        **_ERRORS,
                    },
                },
            },
            "/{id}": {
                "parameters": [_ID],
                "get": {
                    "summary": "Follow a short URL: a link's target, or a paste's page /p/{id}",
                    "responses": {
                        "302": {"description": "Redirect (never cached)", "headers": _REDIRECT},
                        **_ERRORS,
                    },
                },
            },
            "/api/v1/reports": {
                "post": {
                    "summary": "Report a link or paste as harmful (service/reports_api.py)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewReport"}
                            }
                        },
                    },
                    "responses": {
                        "202": _json("Report", "Received"),
                        "400": _problem("Invalid input"),
                        "404": _problem("Unknown, expired or deleted id"),
                        "410": _problem("Held or taken down already"),
                        "413": _problem("Body too large"),
                        "415": _problem("Not JSON"),
                        "429": _problem("Rate limited; see Retry-After"),
                        "503": _problem("Storage unavailable"),
                    },
                }
            },
            "/{id}/raw": {
                "parameters": [_ID],
                "get": {
                    "summary": "A paste's bytes as text/plain",
                    "responses": {
                        "200": {
                            "description": "The paste",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "409": _problem("Burn-after-reading paste: use open"),
                        **_ERRORS,
                    },
                },
            },
        },
        "components": {"schemas": _schemas(settings)},
    }


def _schemas(settings: Settings) -> dict[str, Any]:
    new_link: dict[str, Any] = {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {
                "type": "string",
                "maxLength": MAX_URL_LENGTH,
                "format": "uri",
                "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
                "description": "http(s) only, with a host; no user information, whitespace, "
                "invisible characters or IPv6 zone id; not a loopback, unspecified or link-local "
                "address, nor Spito itself. Answered and stored in one canonical ASCII form.",
            },
            "slug": _nullable(_ID_SCHEMA),
            "expires_in": _expires_in(settings),
        },
    }
    new_paste: dict[str, Any] = {
        "type": "object",
        "required": ["content"],
        "additionalProperties": False,
        "properties": {
            "content": {"type": "string", "minLength": 1},
            "syntax": _nullable({"type": "string", "enum": list(SYNTAXES)}),
            "expires_in": _expires_in(settings),
            "burn_after_reading": _nullable({"type": "boolean"}),
        },
    }
    new_report: dict[str, Any] = {
        "type": "object",
        "required": ["id", "reason"],
        "additionalProperties": False,
        "properties": {
            "id": _ID_SCHEMA,
            "reason": {"type": "string", "enum": list(REPORT_REASONS)},
            # No control characters but tab and newline (operators read details in a terminal).
            "details": _nullable(
                {
                    "type": "string",
                    "maxLength": MAX_DETAILS_CHARS,
                    "pattern": r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$",
                }
            ),
        },
    }
    return {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "field": {
                    "type": "string",
                    "enum": sorted(
                        {
                            *new_link["properties"],
                            *new_paste["properties"],
                            *new_report["properties"],
                        }
                    ),
                    "description": "The request field the problem concerns, when it is one",
                },
            },
        },
        "NewLink": new_link,
        "NewPaste": new_paste,
        "NewReport": new_report,
        "Report": {
            "type": "object",
            "required": ["id", "reason", "status"],
            "properties": {
                "id": {"type": "string"},
                "reason": {"type": "string", "enum": list(REPORT_REASONS)},
                "status": {"const": "received"},
            },
        },
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
        "CreatedLink": {
            "type": "object",
            "required": ["id", "short_url", "url", "created_at", "expires_at", "delete_token"],
            "properties": {
                "id": {"type": "string"},
                "short_url": {"type": "string", "format": "uri"},
                "url": {"type": "string", "format": "uri"},
                "created_at": _EPOCH,
                "expires_at": _EXPIRES_AT,
                "delete_token": {"type": "string"},
            },
        },
        "Link": {
            "type": "object",
            "required": [
                "id",
                "url",
                "created_at",
                "expires_at",
                "clicks",
                "bot_fetches",
                "clicks_by_day",
            ],
            "properties": {
                "id": {"type": "string"},
                "url": {"type": "string", "format": "uri"},
                "created_at": _EPOCH,
                "expires_at": _EXPIRES_AT,
                "clicks": {"type": "integer", "minimum": 0, "description": "Redirects of people"},
                "bot_fetches": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Redirects of bots, link previews and HEAD requests",
                },
                "clicks_by_day": _CLICKS_BY_DAY,
            },
        },
        "CreatedPaste": {
            "type": "object",
            "required": [
                "id",
                "url",
                "raw_url",
                "created_at",
                "expires_at",
                "size",
                "delete_token",
            ],
            "properties": {
                "id": {"type": "string"},
                "url": {"type": "string", "format": "uri"},
                "raw_url": {"type": "string", "format": "uri"},
                "created_at": _EPOCH,
                "expires_at": _EXPIRES_AT,
                "size": {"type": "integer", "description": "Bytes of UTF-8"},
                "delete_token": {"type": "string"},
            },
        },
        "Paste": {
            "type": "object",
            "required": [
                "id",
                "content",
                "syntax",
                "size",
                "created_at",
                "expires_at",
                "burn_after_reading",
            ],
            "properties": {
                "id": {"type": "string"},
                "content": {"type": ["string", "null"]},
                "syntax": {"type": "string", "enum": list(SYNTAXES)},
                "size": {"type": "integer"},
                "created_at": _EPOCH,
                "expires_at": _EXPIRES_AT,
                "burn_after_reading": {"type": "boolean"},
            },
        },
    }
