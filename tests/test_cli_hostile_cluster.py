"""``--dask ADDRESS`` (and ``pg.scan(cluster=ADDRESS)``) where no Dask scheduler answers
(issue 24): an HTTP server, a port that accepts and stays silent, one that sends garbage.
Each ends within the connect timeout plus start-up with one ``Error:`` line and exit
status 2 (the API: an ``OSError`` naming the address), never a hang or a traceback.
The servers run in threads of this process; the scans run in subprocesses with a
``timeout=``, so a regression fails instead of hanging the suite."""

import http.server
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

COMMAND = Path(sys.executable).with_name("pipeguard")
SHORT = 3  # seconds: CONNECT_TIMEOUT in the subprocesses that set it, to keep the suite quick
START_UP = 25  # seconds a subprocess may take besides the timeout (imports on a busy machine)
# a frame length of 1 TiB: distributed allocates what the peer announces (a MemoryError)
GARBAGE = struct.pack("<Q", 1 << 40) + b"garbage\r\n" * 8

# The CLI and the API with CONNECT_TIMEOUT set, in a fresh interpreter of at most 4 GiB.
PRELUDE = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)); "
           f"from pipeguard.scanner.engine import _cluster; _cluster.CONNECT_TIMEOUT = '{SHORT}s'; ")
CLI = PRELUDE + "from pipeguard.cli import main; main()"
API = PRELUDE + """
import threading, pipeguard as pg
try:
    pg.scan(sys.argv[1], cluster=sys.argv[2])
except OSError as exc:
    print(f"OSError: {exc}")
print("threads:", sorted(t.name for t in threading.enumerate()))
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test's output stays the subprocess's
        pass


def _raw_server(greeting):
    """A port that accepts connections and sends ``greeting`` (or nothing), then stays silent."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop, held = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            if greeting:
                conn.sendall(greeting)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def close():
        stop.set()
        thread.join(5)
        for conn in held + [listener]:
            conn.close()

    return listener.getsockname()[1], close


@pytest.fixture(params=["http", "silent", "garbage"])
def not_a_scheduler(request):
    """The port of something that is not a Dask scheduler."""
    if request.param == "http":
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)  # waits for a line never sent
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1]
        server.shutdown()
        server.server_close()
        return
    port, close = _raw_server(GARBAGE if request.param == "garbage" else b"")
    yield port
    close()


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    return tmp_path


def _timed(args):
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, timeout=SHORT + START_UP + 30)
    return done, time.monotonic() - started


def _one_line_error(done, port):
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stdout == "", done.stdout
    err = done.stderr
    assert err.startswith(f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: "), err[-3000:]
    assert err.count("\n") == 1 and "Traceback" not in err, err[-3000:]


def test_the_cli_ends_with_one_line_when_no_scheduler_answers(not_a_scheduler, folder):
    """The HTTP server and the silent port hung past 300 s; the garbage was a MemoryError traceback."""
    done, took = _timed([sys.executable, "-c", CLI, "scan", str(folder), "--dask",
                         f"tcp://127.0.0.1:{not_a_scheduler}"])
    _one_line_error(done, not_a_scheduler)
    assert took < SHORT + START_UP


def test_the_api_raises_oserror_and_leaves_no_loop_running(not_a_scheduler, folder):
    done, took = _timed([sys.executable, "-c", API, str(folder), f"tcp://127.0.0.1:{not_a_scheduler}"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"OSError: cannot reach the Dask scheduler at tcp://127.0.0.1:{not_a_scheduler}: " in done.stdout
    assert "IO loop" not in done.stdout.splitlines()[-1], done.stdout  # distributed's thread, stopped
    assert took < SHORT + START_UP


def test_the_installed_command_gives_up_on_a_silent_port_after_the_connect_timeout(folder):
    """The default bound (CONNECT_TIMEOUT, 10 s) on the command as installed."""
    port, close = _raw_server(b"")
    try:
        done, took = _timed([str(COMMAND), "scan", str(folder), "--dask", f"tcp://127.0.0.1:{port}"])
    finally:
        close()
    _one_line_error(done, port)
    assert "within 10 s" in done.stderr
    assert 9 < took < 10 + START_UP
