"""The database of a one-shot backtest in a forked child process.

Opening the database costs a backtest some 0.3 s of imports and schema checks (SQLAlchemy,
the tables) and saving a million-bar run another 0.2 s. In a thread of this process that
work takes turns with the file's parsing and the report's writing on the interpreter lock;
in a child process forked before the data is read, it runs on the other core with an
interpreter of its own:

1. the child opens the database (``open_store``: the bundled samples loaded, as ever) and
   says whether that worked; :meth:`StoreProcess.wait_ready` raises the error in this
   process, before the run, as opening it here would;
2. :meth:`StoreProcess.save` sends it what to save (pickled) and gets the run id back,
   or the error, raised here; the parent writes the JSON report meanwhile;
3. :meth:`StoreProcess.close` tells a child with nothing to save to close the database,
   and waits for it.

The child ends with ``os._exit``: it runs none of this process's exit hooks. Used by the
``trading-strategy`` program only (``console``), for data read from a file, where no
database is needed before the run is saved, on Linux (:func:`can_fork`); a process that
goes on (tests, a notebook) opens its database in a thread, as other systems do.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import sys
from collections.abc import Callable
from typing import Any

from trading_strategy.core.errors import ConfigError, TradingStrategyError, UserError

__all__ = ["StoreProcess", "can_fork"]

_HEADER = struct.Struct("!Q")


def can_fork() -> bool:
    """Whether the store goes to a child here: on Linux. macOS forks, but a forked child of
    a process that loaded system frameworks may crash there (Python's own multiprocessing
    spawns instead); elsewhere, and there, the store is opened in a thread."""
    return sys.platform == "linux" and hasattr(os, "fork")


class _Failed(TradingStrategyError):
    """An error of the child that could not be sent as itself."""


def _send(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    for part in (_HEADER.pack(len(data)), data):  # not joined: a run is tens of MB
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int) -> Any:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, size))


def _sendable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else an error of the same kind for the CLI (a
    user's mistake or not: exit status 2 or 1) with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # an exception type whose constructor pickle cannot call again
        if isinstance(exc, UserError):
            return ConfigError(str(exc))
        return _Failed(f"{type(exc).__name__}: {exc}")
    return exc


class StoreProcess:
    """A forked child that opens the store with ``open_store()`` and saves with
    ``save(store, *payload)`` what it is sent (see the module docstring)."""

    def __init__(self, open_store: Callable[[], Any],
                 save: Callable[..., int]) -> None:
        from_parent, to_child = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(to_child)
            os.close(from_child)
            try:
                self._child(open_store, save, from_parent, to_parent)
            finally:
                os._exit(0)
        os.close(from_parent)
        os.close(to_parent)
        self._pid: int | None = pid
        self._out = to_child
        self._in = from_child
        self._ready = False

    @staticmethod
    def _child(open_store: Callable[[], Any], save: Callable[..., int], inbox: int,
               outbox: int) -> None:
        try:
            store = open_store()
        except BaseException as exc:
            _send(outbox, ("error", _sendable(exc)))
            return
        try:
            _send(outbox, ("ready", None))
            payload = _receive(inbox)
            if payload is not None:
                try:
                    _send(outbox, ("saved", save(store, *payload)))
                except BaseException as exc:
                    _send(outbox, ("error", _sendable(exc)))
        except (EOFError, OSError):
            pass  # the parent went away: nothing to save
        finally:
            store.close()

    def _answer(self) -> Any:
        try:
            kind, value = _receive(self._in)
        except (EOFError, OSError):
            raise _Failed("the process saving the run ended unexpectedly") from None
        if kind == "error":
            raise value
        return value

    def wait_ready(self) -> None:
        """Wait until the database is open; raises what opening it raised."""
        if not self._ready:
            self._answer()
            self._ready = True

    def save(self, *payload: object) -> int:
        """Save ``payload`` (``save(store, *payload)`` in the child); the run id."""
        self.wait_ready()
        _send(self._out, payload)
        run_id: int = self._answer()
        return run_id

    def close(self) -> None:
        """Let the child go (it closes the database) and wait for it; idempotent."""
        if self._pid is None:
            return
        with contextlib.suppress(OSError):  # it has ended already
            _send(self._out, None)
        for fd in (self._out, self._in):
            os.close(fd)
        os.waitpid(self._pid, 0)
        self._pid = None
