"""What every worker process pipeguard starts does first (scan probes, report thumbnails).

Imports nothing of pipeguard: any layer may use it.
"""

from __future__ import annotations

import os
import signal


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
