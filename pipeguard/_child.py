"""The worker processes pipeguard starts (scan probes, report thumbnails): how many cores
they may use, and what each does first.

Imports nothing of pipeguard: any layer may use it.
"""

from __future__ import annotations

import os
import signal


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def quiet_child() -> None:
    """Leave Ctrl-C to the parent, and silence what C decoders (libtiff) print on fd 2: the
    caller reports a file's failure as data, not as a message on the terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass
