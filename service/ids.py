"""Random identifiers and delete tokens; all randomness comes from `secrets`."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# URL-safe and free of look-alikes (0/O/o, 1/l/I): ids are read aloud and typed from screens.
ID_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
ID_LENGTH = 8  # 56**8 ~ 9.7e13: collisions are rare, and the conditional put retries them
DELETE_TOKEN_BYTES = 32


def new_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def new_delete_token() -> str:
    return secrets.token_urlsafe(DELETE_TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
