"""A deployment with workers on one machine, for the tests and the workers benchmark: a
throw-away Redis server on a free loopback port (Debian's `redis-server`; nothing saved to
disk, gone when the context ends) and `ffedit worker` processes on the CPU."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ffedit.bench.api import LOOPBACK, free_loopback_port

REDIS_SERVER = "redis-server"
READY_LINE = " ready."
"""What Celery logs once a worker consumes its queues ("name@host ready.")."""


class RedisMissing(RuntimeError):
    """`redis-server` is not installed (Debian: `apt-get install redis-server`)."""


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def local_redis(folder: Path, timeout_s: float = 20) -> Iterator[str]:
    """A redis-server on a free loopback port (working folder `folder`, no persistence);
    yields its URL (database 0). `RedisMissing` when the binary is not installed."""
    binary = shutil.which(REDIS_SERVER)
    if binary is None:
        raise RedisMissing("redis-server is not installed (Debian: apt-get install redis-server)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_loopback_port()
    command = [
        binary,
        "--port", str(port),
        "--bind", LOOPBACK,
        "--save", "",
        "--appendonly", "no",
        "--dir", str(folder),
        "--logfile", str(folder / "redis.log"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while not _answers_ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (see {folder / 'redis.log'})")
            time.sleep(0.05)
        yield f"redis://{LOOPBACK}:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_worker(
    model: Path,
    data_dir: Path,
    broker_url: str,
    name: str,
    log_file: Path,
    settings: dict[str, str] | None = None,
) -> subprocess.Popen:
    """An `ffedit worker` process on the CPU (torch on one thread) serving both queues;
    `settings`: more FFEDIT_* variables (name without the prefix: value). Its output goes to
    `log_file` (replaced)."""
    env = {
        **os.environ,
        "FFEDIT_MODEL": str(model),
        "FFEDIT_DATA_DIR": str(data_dir),
        "FFEDIT_BROKER_URL": broker_url,
        "FFEDIT_TORCH_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        **{f"FFEDIT_{key.upper()}": value for key, value in (settings or {}).items()},
    }
    command = [sys.executable, "-m", "ffedit.cli", "worker", "--device", "cpu", "--name", name]
    with open(log_file, "wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_serving(process: subprocess.Popen, log_file: Path, timeout_s: float = 120) -> None:
    """Wait until the worker says in its log that it is ready (its model loaded, its queues
    consumed); `RuntimeError` if it exits or is not ready within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while READY_LINE not in log_file.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start (see {log_file})")
        time.sleep(0.1)
