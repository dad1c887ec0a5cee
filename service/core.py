"""What Spito does, independent of HTTP: create, read, open, delete links and pastes.

Methods are synchronous (boto3 is) and are run on worker threads by the HTTP layer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from service import ids
from service.blobs import Blobs
from service.records import Link, Paste, Record
from service.settings import Settings
from service.storage_errors import AlreadyExistsError, BlobGoneError, StorageUnavailableError
from service.table import Table, is_expired

log = logging.getLogger("spito.core")
R = TypeVar("R", Link, Paste)
AnyRecord = TypeVar("AnyRecord", bound=Record)

# Ids are 8 random characters from 56: a second collision in a row is already unheard of.
MAX_ID_ATTEMPTS = 5


class NotFoundError(LookupError):
    """No live item of that kind: never existed, expired, or deleted."""


class ExpiredError(NotFoundError):
    """The item expired at `expires_at` (epoch seconds) and DynamoDB has not yet deleted it."""

    def __init__(self, record: Record) -> None:
        super().__init__(record.id)
        self.kind = "link" if isinstance(record, Link) else "paste"
        self.expires_at = record.expires_at or 0


class RemovedError(LookupError):
    """The item is held after reports or taken down: kept for the operators, not served."""

    def __init__(self, record: Record) -> None:
        super().__init__(record.id)
        assert record.removal is not None
        self.kind = "link" if isinstance(record, Link) else "paste"
        self.removal = record.removal


class WrongTokenError(PermissionError):
    """The delete token is missing or does not match."""


class SlugTakenError(LookupError):
    """The requested slug already names a link or paste."""


class NotBurnAfterReadingError(RuntimeError):
    """`open` was asked of a paste that is read with a plain GET."""


class BurnAfterReadingOnlyError(RuntimeError):
    """The paste can only be read once, through `open`."""


@dataclass(frozen=True)
class Created(Generic[R]):
    """A new link or paste, with its delete token (shown once, never stored)."""

    record: R
    delete_token: str


class Spito:
    def __init__(self, settings: Settings, table: Table, blobs: Blobs) -> None:
        self._settings = settings
        self._table = table
        self._blobs = blobs

    def create_link(self, *, url: str, slug: str | None, expires_in: int | None) -> Created[Link]:
        token = ids.new_delete_token()

        def build(link_id: str, created_at: int) -> Link:
            return Link(
                id=link_id,
                url=url,
                created_at=created_at,
                expires_at=None if expires_in is None else created_at + expires_in,
                clicks=0,
                delete_token_hash=ids.hash_token(token),
            )

        return Created(self._create(build, slug), token)

    def create_paste(
        self, *, data: bytes, syntax: str, expires_in: int | None, burn: bool
    ) -> Created[Paste]:
        """Create a paste from its UTF-8 bytes (checked already), whose length is its size.

        Only a paste kept inline is decoded: a large one goes to the bucket as bytes, so no
        text copy of it (up to 4 bytes a character) is ever held.
        """
        token = ids.new_delete_token()
        in_bucket = len(data) > self._settings.paste_inline_max_bytes
        uploaded: list[str] = []

        def build(paste_id: str, created_at: int) -> Paste:
            blob_key = self._blobs.put(paste_id, data) if in_bucket else None
            if blob_key:
                uploaded.append(blob_key)
            return Paste(
                id=paste_id,
                syntax=syntax,
                size=len(data),
                created_at=created_at,
                expires_at=None if expires_in is None else created_at + expires_in,
                burn_after_reading=burn,
                content=None if blob_key else data.decode(),
                blob_key=blob_key,
                delete_token_hash=ids.hash_token(token),
            )

        try:
            created = Created(self._create(build, None), token)
        except BaseException:
            for key in uploaded:
                self._forget_blob(key)
            raise
        for key in uploaded[:-1]:  # bodies uploaded for ids that turned out to be taken
            self._forget_blob(key)
        return created

    def _create(self, build: Callable[[str, int], R], slug: str | None) -> R:
        if slug is not None:
            record = build(slug, int(time.time()))
            try:
                self._table.create(record)
            except AlreadyExistsError:
                raise SlugTakenError(slug) from None
            return record
        for _ in range(MAX_ID_ATTEMPTS):
            # No reserved word is a possible id (tests/service/test_links.py checks), so none
            # is skipped here.
            record_id = ids.new_id()
            record = build(record_id, int(time.time()))
            try:
                self._table.create(record)
            except AlreadyExistsError:
                log.warning("id collision, retrying with a new id")
                continue
            return record
        raise StorageUnavailableError("no free id after several attempts")

    def link(self, link_id: str) -> Link:
        record = self._table.get_even_expired(link_id)
        if not isinstance(record, Link):
            raise NotFoundError(link_id)
        return _unexpired(record)

    def paste(self, paste_id: str) -> Paste:
        record = self._table.get_even_expired(paste_id)
        if not isinstance(record, Paste):
            raise NotFoundError(paste_id)
        return _unexpired(record)

    def record(self, record_id: str) -> Record:
        record = self._table.get_even_expired(record_id)
        if record is None:
            raise NotFoundError(record_id)
        return _unexpired(record)

    def paste_bytes(self, paste: Paste) -> Iterator[bytes]:
        """The paste's bytes as a stream (large bodies are never held whole)."""
        if paste.burn_after_reading:
            raise BurnAfterReadingOnlyError(paste.id)
        return self._bytes(paste)

    def open_burnable(self, paste_id: str) -> tuple[Paste, list[bytes]]:
        """Delete a burn-after-reading paste atomically and return it with its bytes, in chunks.

        The content is read first and the item deleted after: a read that fails (the bucket
        is down) answers 503 and leaves the paste for another try. The delete is conditional,
        so of concurrent openers only the one that deletes the item gets the content. The
        chunks are kept as read, never joined or decoded: the paste is held once.
        """
        paste = self.paste(paste_id)
        if not paste.burn_after_reading:
            raise NotBurnAfterReadingError(paste_id)
        content = list(self._bytes(paste))
        if not self._table.take_burnable(paste, now=int(time.time())):
            raise NotFoundError(paste_id)  # another opener won, or it expired meanwhile
        if paste.blob_key is not None:
            self._forget_blob(paste.blob_key)
        return paste, content

    def delete(self, record_id: str, *, kind: type[Link] | type[Paste], token: str | None) -> None:
        record = self._table.get(record_id, now=int(time.time()))
        if not isinstance(record, kind):
            raise NotFoundError(record_id)
        if record.removal is not None:  # kept for the operators, even from its creator
            raise RemovedError(record)
        if token is None or not ids.token_matches(token, record.delete_token_hash):
            raise WrongTokenError(record_id)
        deleted = self._table.delete(record_id, delete_token_hash=record.delete_token_hash)
        if deleted is None:
            raise NotFoundError(record_id)
        if isinstance(deleted, Paste) and deleted.blob_key:
            self._forget_blob(deleted.blob_key)

    def _bytes(self, paste: Paste) -> Iterator[bytes]:
        if paste.blob_key is None:
            return iter([(paste.content or "").encode()])
        return self._open_blob(paste)

    def _open_blob(self, paste: Paste) -> Iterator[bytes]:
        """The body of a paste kept in the bucket; a body burned or deleted meanwhile is a
        paste that no longer exists, however recently its item was read."""
        assert paste.blob_key is not None
        try:
            return self._blobs.open(paste.blob_key)
        except BlobGoneError:
            raise NotFoundError(paste.id) from None

    def check_ready(self) -> None:
        self._table.ping()
        self._blobs.ping()

    def _forget_blob(self, key: str) -> None:
        # The item is gone already, so the paste can never be served again: a body that
        # cannot be deleted now only costs storage, and must not fail the request. The reaper
        # handles only TTL deletions, so the key is logged for cleaning up by hand.
        try:
            self._blobs.delete(key)
        except StorageUnavailableError as error:
            log.warning("orphaned paste body %s: %s", key, error)


def _unexpired(record: AnyRecord) -> AnyRecord:
    """The record, or ExpiredError if it expired and DynamoDB's TTL has not deleted it yet,
    or RemovedError if it is held or taken down."""
    if is_expired(record, int(time.time())):
        raise ExpiredError(record)
    if record.removal is not None:
        raise RemovedError(record)
    return record
