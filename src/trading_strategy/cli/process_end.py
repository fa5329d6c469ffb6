"""Ending the ``trading-strategy`` process once a one-shot command is done.

A backtest of a million bars leaves millions of objects behind (orders, fills, trades, the
strategy's series as lists). When the interpreter ends normally it takes them apart one
by one and collects the cycles among them before the process exits: some 0.3 s after a
million-bar backtest, longer than the report took to write, for memory the operating
system takes back at once anyway. A command that opts in (``quick_exit`` on its parser)
ends the process without that teardown, once everything it owes is done:

* every exit hook runs (``atexit``: log handlers flushed, executors joined, coverage
  data saved), as at a normal exit;
* standard output and error are flushed (a closed pipe is ignored, as ``main`` does);
* then ``os._exit`` with the command's status.

If a thread other than the main one is still running (and is not a daemon thread), the
process ends the normal way: a normal exit waits for such threads, and so does this.
Commands that write files close them before returning (``backtest`` writes through
``with`` blocks and closes its database); nothing buffered is lost.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

__all__ = ["end_process"]


def _other_threads_running() -> bool:
    main = threading.main_thread()
    return any(t is not main and t.is_alive() and not t.daemon
               for t in threading.enumerate())


def end_process(code: int) -> NoReturn:
    """Exit with ``code`` now: exit hooks and flushed output, without the teardown."""
    if _other_threads_running():
        sys.exit(code)  # a normal exit joins them first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a reader that went away, or a closed stream: nothing more can be said to it
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
