"""Interruption by a signal: SIGTERM and SIGHUP end a command the way Ctrl-C (SIGINT) does.

Python turns SIGINT into :class:`KeyboardInterrupt`, which unwinds the stack through every
``finally`` (temporary directories removed, worker pools stopped); SIGTERM and SIGHUP would
otherwise kill the process on the spot and leave temporary files and orphaned workers behind.
:func:`signals_as_interrupt` makes them raise :class:`Interrupted`, a KeyboardInterrupt, so one
clean-up path serves all three, and :func:`exit_code` gives the shell's ``128 + signal`` status.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["Interrupted", "exit_code", "signals_as_interrupt", "stop_pool"]

#: the signals handled like SIGINT (those this platform has)
SIGNALS = tuple(getattr(signal, s) for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s))


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread when a termination signal arrives.

    Parameters
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise(signum, frame):
    raise Interrupted(signum)


@contextmanager
def signals_as_interrupt():
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted`; the old handlers are restored after.

    Outside the main thread (where Python cannot install handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def exit_code(exc: KeyboardInterrupt) -> int:
    """The exit status after an interruption: 128 + the signal number (130 for Ctrl-C)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def stop_pool(pool) -> None:
    """Stop a ``concurrent.futures.ProcessPoolExecutor`` now: terminate its workers, cancel the rest.

    ``shutdown()`` alone waits for the running tasks, and a worker that did not receive the
    signal (SIGTERM goes to one process, not its group) would outlive the command.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.join(timeout=10)
