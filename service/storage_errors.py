"""Errors the storage modules raise, so the HTTP layer needs no boto3 knowledge."""


class StorageUnavailableError(RuntimeError):
    """Storage did not answer in time or failed; the request can be retried later."""


class AlreadyExistsError(RuntimeError):
    """A conditional create found the id taken; nothing was overwritten."""


class BlobGoneError(LookupError):
    """A paste body is no longer in the bucket: it was burned or deleted meanwhile."""
