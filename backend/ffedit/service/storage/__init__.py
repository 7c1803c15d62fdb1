"""The web app's persistent state: records in SQLite and their files under the data folder.

- `records`: what a face, a layout, a sample, a job and an account are (frozen dataclasses,
  `JobStatus`), and the limits on how many are kept per owner (`StoredLimits`);
- `schema`: the SQLite tables, their migration, and the data folder's file names;
- `store`: `Storage`, which writes and reads them crash-safely (its docstring has the rules);
- `accounts`: `AccountStore`, the users, sessions and API tokens in the same database (the
  `ffedit users` command opens it next to a running server).

Its errors (`NotFound`, `Conflict`, `InvalidFileName`, `StorageError`) live with the other
service errors in `ffedit.service.errors` and are re-exported here.
"""

from ffedit.service.errors import Conflict, InvalidFileName, NotFound, StorageError
from ffedit.service.storage.accounts import AccountStore
from ffedit.service.storage.records import (
    SINGLE_USER_OWNER,
    FaceRecord,
    JobRecord,
    JobStatus,
    LayoutRecord,
    SampleRecord,
    StoredLimits,
    TokenRecord,
    UserRecord,
    new_id,
)
from ffedit.service.storage.schema import DATABASE_NAME, SCHEMA_VERSION
from ffedit.service.storage.store import (
    FACES_ROOM,
    INTERRUPTED_REASON,
    LAYOUTS_ROOM,
    QUEUED_JOBS_ROOM,
    SAMPLES_ROOM,
    Storage,
)

__all__ = [
    "DATABASE_NAME",
    "FACES_ROOM",
    "INTERRUPTED_REASON",
    "LAYOUTS_ROOM",
    "QUEUED_JOBS_ROOM",
    "SAMPLES_ROOM",
    "SCHEMA_VERSION",
    "SINGLE_USER_OWNER",
    "AccountStore",
    "Conflict",
    "FaceRecord",
    "InvalidFileName",
    "JobRecord",
    "JobStatus",
    "LayoutRecord",
    "NotFound",
    "SampleRecord",
    "Storage",
    "StorageError",
    "StoredLimits",
    "TokenRecord",
    "UserRecord",
    "new_id",
]
