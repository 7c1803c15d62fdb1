"""Domain errors of the service layer; `ffedit.api.errors` maps each to one HTTP status.

The core's own errors (`InvalidMask`, `TooFewSamples`, `UnknownLayout`, ...) pass through
unchanged and are re-exported here, so that the API maps every error from one import; the
classes defined here cover what only the service knows: the storage's (`NotFound`,
`Conflict`, ...), the job queue's (`QueueFull`), and requests that do not fit the loaded
model or the layout's state. This module imports no other module of the service.
"""

from __future__ import annotations

import re

from ffedit.adapter import TooFewSamples
from ffedit.io.images import InvalidImage
from ffedit.layouts import InvalidLayout, InvalidMask, UnknownLayout
from ffedit.photo.errors import PhotoError


class StorageError(Exception):
    """Base of the storage's domain errors."""


class NotFound(StorageError):
    """No record of this kind has this id."""

    def __init__(self, kind: str, id: str) -> None:
        super().__init__(f"no {kind} with id {id!r}")
        self.kind = kind
        self.id = id


class Conflict(StorageError):
    """The request contradicts what is stored (a face still used, a finished job, a taken name)."""


class DataDirInUse(StorageError):
    """Another server process holds the data folder's lock."""


class InvalidFileName(StorageError, ValueError):
    """A job file name that is not a plain file name (empty, hidden, or with a path separator)."""


class QueueFull(Exception):
    """The job queue holds `max_queue` jobs already; try again when one has started."""


class WorkersUnavailable(Exception):
    """With a broker: no worker answered in time (none runs, or all are busy), or the broker
    cannot be reached."""


class WorkerFailed(RuntimeError):
    """With a broker: a worker's operation failed with an error that is not a domain error."""


class LimitReached(Exception):
    """The server keeps at most a configured number of faces, layouts or samples."""


class InvalidCredentials(Exception):
    """A login with a wrong user name or password."""


class DiskQuotaReached(Exception):
    """A user's files would take more than the disk quota each user has."""


class TooManyAttempts(Exception):
    """Too many failed logins of one account or from one address: wait `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NoAccounts(Conflict):
    """An account operation on a server without accounts, or accounts without an admin."""


class InvalidRequest(ValueError):
    """Input the model cannot use (a latent of the wrong size, an unknown view, ...)."""


class NoAdapter(Conflict):
    """The layout has no trained adapter (and no base to predict from) yet."""


class AlreadyTraining(Conflict):
    """A training job of this layout is queued or running."""


class NotWanted(Conflict):
    """A render whose client left, or that a newer request of its stream replaced, before
    its turn on the device: it was not rendered."""

    def __init__(
        self, message: str = "the page no longer waits for this render (newer view or left)"
    ) -> None:
        super().__init__(message)


class ModelMissing(FileNotFoundError):
    """The model checkpoint named by the settings does not exist."""


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:)?(?:[/\\][\w.~+-]+){2,}[/\\]?")


def without_paths(text: str) -> str:
    """`text` with absolute filesystem paths replaced by '…' (for answers to clients)."""
    return _ABSOLUTE_PATH.sub("…", text)


__all__ = [
    "AlreadyTraining",
    "Conflict",
    "DataDirInUse",
    "DiskQuotaReached",
    "InvalidCredentials",
    "InvalidFileName",
    "InvalidImage",
    "InvalidLayout",
    "InvalidMask",
    "InvalidRequest",
    "LimitReached",
    "ModelMissing",
    "NoAccounts",
    "NoAdapter",
    "NotFound",
    "NotWanted",
    "PhotoError",
    "QueueFull",
    "StorageError",
    "TooFewSamples",
    "TooManyAttempts",
    "UnknownLayout",
    "WorkerFailed",
    "WorkersUnavailable",
    "without_paths",
]
