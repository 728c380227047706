"""A real Azure Blob server on this machine for the ``az://`` scan tests: Azurite (the npm
package ``azurite``) on 127.0.0.1, which adlfs talks to over HTTP exactly as to Azure.

The ``azurite-blob`` program is the one named by ``PIPEGUARD_AZURITE`` (``.ci/run`` installs
Azurite and sets it), else the one on ``PATH``. With neither, the tests that need it skip,
saying so; with ``PIPEGUARD_AZURITE`` set to something that is not a program, they fail (CI
must not skip them quietly). Nothing is downloaded here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from s3_server import free_port, upload_tree

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, the same in every Azurite)
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_SECONDS = 30


def azurite_program() -> str:
    """The ``azurite-blob`` to run, or a skip saying how to get one."""
    given = os.environ.get("PIPEGUARD_AZURITE")
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            pytest.fail(f"PIPEGUARD_AZURITE={given} is not an azurite-blob program")
        return given
    found = shutil.which("azurite-blob")
    if found is None:
        pytest.skip("azurite-blob not found: set PIPEGUARD_AZURITE to it (.ci/run installs the npm package "
                    "azurite and sets it) or put it on PATH")
    return found


class AzureServer:
    """``azurite-blob`` in memory on a free port; :attr:`connection_string` reaches it."""

    def __init__(self) -> None:
        program = azurite_program()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/{ACCOUNT}"
        self.connection_string = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                                  f"BlobEndpoint={self.endpoint};")
        self.workspace = tempfile.mkdtemp(prefix="azurite-")  # its working folder, for anything it writes
        self.log = open(os.path.join(self.workspace, "azurite.log"), "w+b")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [program, "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             "--skipApiVersionCheck", "--silent", "--disableTelemetry", "--extentMemoryLimit", "512"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.workspace)
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    said = self.log.read().decode(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(f"azurite-blob did not start on port {self.port}: {said}") from None
                time.sleep(0.1)

    def options(self) -> dict:
        """The ``storage_options`` of an ``az://`` URL in this server."""
        return {"connection_string": self.connection_string}

    def filesystem(self):
        import adlfs

        return adlfs.AzureBlobFileSystem(connection_string=self.connection_string, skip_instance_cache=True)

    def upload(self, local: Path, container: str, prefix: str) -> str:
        """Copy the files under ``local`` to ``az://container/prefix/`` (see
        :func:`s3_server.upload_tree`); return that URL."""
        upload_tree(self.filesystem(), local, container, prefix)
        return f"az://{container}/{prefix}/"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.workspace, ignore_errors=True)


@pytest.fixture(scope="module")
def azurite():
    """A fresh Azurite for the module, stopped after it."""
    server = AzureServer()
    try:
        yield server
    finally:
        server.stop()
