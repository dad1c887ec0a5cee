"""Property-based tests of URL and slug validation (pure functions, no server)."""

from __future__ import annotations

import re
import string
import unicodedata
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.validation import (
    MAX_URL_LENGTH,
    RESERVED_SLUGS,
    InvalidInputError,
    normalize_target_url,
    validate_slug,
)

SLUG_CHARACTERS = string.ascii_letters + string.digits + "_-"
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hostnames = st.lists(label, min_size=1, max_size=4).map(".".join).map(lambda h: h + ".example")
paths = st.text(alphabet=string.ascii_letters + string.digits + "/-._~%!$&'()*+,;=:@", max_size=200)
schemes = st.sampled_from(["http", "https", "HTTP", "Https"])
# Pure functions: how long one call takes on a shared, loaded machine says nothing about them.
NO_DEADLINE = settings(deadline=None)


@given(st.text(alphabet=SLUG_CHARACTERS, min_size=3, max_size=64))
@NO_DEADLINE
def test_every_well_formed_unreserved_slug_is_accepted(slug: str) -> None:
    if slug.lower() in RESERVED_SLUGS:
        with pytest.raises(InvalidInputError):
            validate_slug(slug)
    else:
        assert validate_slug(slug) == slug


@given(st.text(max_size=80))
@NO_DEADLINE
def test_a_slug_is_accepted_only_if_it_matches_the_pattern(slug: str) -> None:
    well_formed = re.fullmatch(r"[A-Za-z0-9_-]{3,64}", slug) is not None
    try:
        validate_slug(slug)
    except InvalidInputError:
        assert not well_formed or slug.lower() in RESERVED_SLUGS
    else:
        assert well_formed


@given(schemes, hostnames, paths)
@NO_DEADLINE
def test_http_urls_with_a_host_are_accepted_and_normalized(
    scheme: str, host: str, path: str
) -> None:
    url = f"{scheme}://{host}/{path}"
    if len(url) > MAX_URL_LENGTH:
        return
    normalized = normalize_target_url(url, refused_hosts=frozenset())
    parts = urlsplit(normalized)
    assert parts.scheme == scheme.lower()
    assert parts.hostname == host
    assert normalize_target_url(normalized, refused_hosts=frozenset()) == normalized


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_accepted_url_is_http_with_a_host_and_printable_ascii(raw: str) -> None:
    try:
        normalized = normalize_target_url(raw, refused_hosts=frozenset())
    except InvalidInputError:
        return
    parts = urlsplit(normalized)
    assert parts.scheme in {"http", "https"}
    assert parts.hostname
    assert "@" not in parts.netloc
    assert len(normalized) <= MAX_URL_LENGTH
    assert all(33 <= ord(c) < 127 for c in normalized)


@given(
    st.sampled_from(["javascript", "data", "file", "ftp", "vbscript", "JaVaScRiPt", "blob"]),
    st.text(max_size=50),
)
@NO_DEADLINE
def test_non_http_schemes_are_always_refused(scheme: str, rest: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_target_url(f"{scheme}:{rest}", refused_hosts=frozenset())


@given(hostnames, st.characters(categories=["Cc", "Zs", "Zl", "Zp"]))
@NO_DEADLINE
def test_whitespace_and_control_characters_are_always_refused(host: str, bad: str) -> None:
    assert unicodedata.category(bad) in {"Cc", "Zs", "Zl", "Zp"}
    with pytest.raises(InvalidInputError):
        normalize_target_url(f"https://{host}/a{bad}b", refused_hosts=frozenset())


@given(hostnames, st.text(alphabet=string.ascii_letters + ":", min_size=1, max_size=20))
@NO_DEADLINE
def test_user_information_is_always_refused(host: str, user: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_target_url(f"https://{user}@{host}/", refused_hosts=frozenset())


@given(hostnames, st.sampled_from(["", ".", ":8443"]))
@NO_DEADLINE
def test_own_hosts_are_always_refused(host: str, suffix: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_target_url(f"https://{host.upper()}{suffix}/x", refused_hosts={host})


@given(st.integers(min_value=MAX_URL_LENGTH + 1, max_value=MAX_URL_LENGTH + 500))
@NO_DEADLINE
def test_urls_over_2048_characters_are_refused(length: int) -> None:
    url = "https://example.com/" + "a" * (length - len("https://example.com/"))
    with pytest.raises(InvalidInputError):
        normalize_target_url(url, refused_hosts=frozenset())


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=120).map(lambda s: "https://" + s))
@settings(max_examples=300, deadline=None)
def test_the_canonical_form_is_a_fixed_point(raw: str) -> None:
    try:
        normalized = normalize_target_url(raw, refused_hosts=frozenset())
    except InvalidInputError:
        return
    assert normalize_target_url(normalized, refused_hosts=frozenset()) == normalized


@pytest.mark.parametrize(
    ("own_name", "target"),
    [
        ("bücher.example", "https://xn--bcher-kva.example/"),
        ("xn--bcher-kva.example", "https://BÜCHER.example/"),
        ("spito.test.", "https://Spito.Test/x"),
        ("127.0.0.1", "http://127.1:8080/"),
        ("[::1]", "http://[0:0:0:0:0:0:0:1]/"),
    ],
)
def test_spitos_own_names_are_refused_in_any_spelling(own_name: str, target: str) -> None:
    with pytest.raises(InvalidInputError, match="Spito itself"):
        normalize_target_url(target, refused_hosts={own_name})
