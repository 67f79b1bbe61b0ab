"""One writer per output: a lock file next to a run's result while the run writes it.

``NAME.lock`` holds the host, the process id (and, on Linux, the process's start time,
so a recycled pid is not mistaken for the writer) and the time the run began. A second
run that would write the same result refuses with one line naming them. A lock whose
process is gone (killed, crashed, machine rebooted) on this host is stale: the next run
takes it over, with a log line. A lock from another host cannot be checked and is
respected; the message says which file to remove if that run is known to be over.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

__all__ = ["RunLock", "LockedError"]

log = logging.getLogger("trajectories")


class LockedError(RuntimeError):
    """Another live process is writing the same output.

    Attributes
    ----------
    args : tuple of str
        ``(message,)``: the output, the holder's pid, host and start, and which lock file
        to remove if that run is known to be over.
    """


def _start_time(pid: int) -> str | None:
    """Start time of a process in clock ticks since boot (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the process that wrote ``holder`` may still be running."""
    if holder.get("host") != socket.gethostname():
        return True  # cannot be checked from here: respect it
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    start = holder.get("start")
    return start is None or start == _start_time(pid)


class RunLock:
    """The lock file of one output (a context manager: acquire on entry, release on exit).

    Parameters
    ----------
    path : str or os.PathLike
        The lock file (``NAME.lock`` next to the result).
    what : str, optional
        How the output is named in the refusal message.

    Attributes
    ----------
    path : pathlib.Path
        The lock file.
    what : str
        As given.
    held : bool
        Whether this object holds the lock.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with RunLock(folder / "run.lock") as lock:
    ...     lock.holder()["pid"] == os.getpid()
    True
    >>> (folder / "run.lock").exists()
    False
    >>> folder.rmdir()
    """

    def __init__(self, path: str | os.PathLike, what: str = "this output"):
        self.path = Path(path)
        self.what = what
        self.held = False

    def _record(self) -> dict[str, Any]:
        import datetime as _dt

        pid = os.getpid()
        return {
            "host": socket.gethostname(),
            "pid": pid,
            "start": _start_time(pid),
            "since": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }

    def holder(self) -> dict[str, Any] | None:
        """The live process holding the lock.

        Returns
        -------
        dict or None
            The lock's record (``host``, ``pid``, ``start``, ``since``), or None when there
            is no lock, or a stale or unreadable one.
        """
        try:
            holder = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable or half-written: treated as stale
        if not isinstance(holder, dict):
            return None
        return holder if _alive(holder) else None

    def _refusal(self, holder: dict[str, Any]) -> LockedError:
        return LockedError(
            f"{self.what} is being written by another run (pid {holder.get('pid')} on "
            f"{holder.get('host')}, since {holder.get('since', 'unknown')}); wait for it to "
            f"finish, or remove {self.path} if that run is known to be over"
        )

    def check(self) -> None:
        """Refuse early, without taking the lock, if another live process holds it.

        Raises
        ------
        LockedError
            When another live process holds the lock.
        """
        holder = self.holder()
        if holder is not None and holder.get("pid") != os.getpid():
            raise self._refusal(holder)

    def acquire(self) -> None:
        """Take the lock, or take a stale one over (with a log line).

        Raises
        ------
        LockedError
            When another live process holds it (also when it wins a race for a stale one).
        """
        data = json.dumps(self._record()).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = self.holder()
            if holder is not None:
                raise self._refusal(holder) from None
            log.info("taking over the stale lock %s", self.path)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, self.path)
            if self.holder() is None or self.holder().get("pid") != os.getpid():
                raise self._refusal(self.holder() or {}) from None  # lost a race
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        self.held = True

    def release(self) -> None:
        """Remove the lock file if this process holds it (nothing otherwise)."""
        if self.held:
            try:
                holder = json.loads(self.path.read_text())
                if holder.get("pid") == os.getpid():
                    self.path.unlink()
            except (OSError, ValueError):
                pass
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
