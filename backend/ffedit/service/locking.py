"""Sharing the one device: a first-come first-served lock, a job's hold on it, and the
newest request of each request stream.

A render holds the lock for one render, a job for one optimisation step at a time
(`JobSteps.between_steps` hands it to whoever waits), so renders are still served while a
training or an edit runs. A render that is no longer wanted when its turn comes (its client
left, or a newer request of its stream arrived: `RequestStreams`) passes the turn on
without rendering (`FairLock.acquire_if`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable


class FairLock:
    """A first-come first-served lock (a ticket lock): waiters get it in arrival order."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def acquire(self) -> None:
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._condition.wait_for(lambda: self._serving == ticket)

    def release(self) -> None:
        with self._condition:
            self._serving += 1
            self._condition.notify_all()

    def acquire_if(self, wanted: Callable[[], bool]) -> bool:
        """Wait for the turn, then take the lock only if `wanted()` still holds (else pass
        the turn on at once). True: the caller holds the lock."""
        self.acquire()
        if wanted():
            return True
        self.release()
        return False

    @property
    def waiting(self) -> int:
        """How many callers wait for the lock now (its holder not counted)."""
        with self._condition:
            return max(0, self._next_ticket - self._serving - 1)

    def yield_to_waiters(self) -> None:
        """Held by the caller: let everyone already waiting go first, then take it back."""
        if self.waiting:
            self.release()
            self.acquire()

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class JobSteps:
    """A job's hold on the device lock: taken for the job, handed over between steps."""

    def __init__(self, lock: FairLock) -> None:
        self._lock = lock

    def __enter__(self) -> JobSteps:
        self._lock.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def between_steps(self) -> None:
        """Let renders waiting for the device go first."""
        self._lock.yield_to_waiters()


class RequestStreams:
    """The newest request of each stream (a page's view requests share one stream id): a
    request begun later in the same stream supersedes the earlier ones. Remembers the
    `max_streams` most recently used streams."""

    def __init__(self, max_streams: int = 1024) -> None:
        self._lock = threading.Lock()
        self._newest: OrderedDict[str, int] = OrderedDict()
        self._max_streams = max_streams

    def begin(self, stream: str | None) -> Callable[[], bool]:
        """Register a request of `stream`; the returned check says whether it is still the
        stream's newest (always True without a stream)."""
        if stream is None:
            return lambda: True
        with self._lock:
            number = self._newest.get(stream, 0) + 1
            self._newest[stream] = number
            self._newest.move_to_end(stream)
            while len(self._newest) > self._max_streams:
                self._newest.popitem(last=False)

        def is_newest() -> bool:
            with self._lock:
                return self._newest.get(stream, number) == number

        return is_newest
