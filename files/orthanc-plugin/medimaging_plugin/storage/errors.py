"""Errors of the storage area. Messages name the object and the HTTP status, never a token, key or SAS."""


class StorageError(Exception):
    def __init__(self, message, status=None, retryable=False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class ObjectNotFound(StorageError):
    pass
