"""Sharing the one device: a first-come first-served lock, and a job's hold on it.

A render holds the lock for one render, a job for one optimisation step at a time
(`JobSteps.between_steps` hands it to whoever waits), so renders are still served while a
training or an edit runs.
"""

from __future__ import annotations

import threading


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

    def yield_to_waiters(self) -> None:
        """Held by the caller: let everyone already waiting go first, then take it back."""
        with self._condition:
            waiting = self._next_ticket - self._serving > 1
        if waiting:
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
