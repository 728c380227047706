"""A real S3 server on this machine for the remote-scan tests: moto in server mode on
127.0.0.1, which s3fs talks to over HTTP exactly as to AWS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def upload_tree(fs, local: Path, bucket: str, prefix: str) -> None:
    """Copy the files under ``local`` (symlinks as the files they point to; broken ones left
    out) to ``bucket/prefix/`` of the fsspec filesystem ``fs``, making the bucket if missing."""
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    for path in sorted(local.rglob("*")):
        if path.is_file():
            fs.pipe_file(f"{bucket}/{prefix}/{path.relative_to(local).as_posix()}", path.read_bytes())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """``python -m moto.server`` on a free port; :attr:`endpoint` is its URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **CREDENTIALS}
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint, timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)

    def filesystem(self):
        import s3fs

        return s3fs.S3FileSystem(endpoint_url=self.endpoint, key="testing", secret="testing", skip_instance_cache=True)

    def upload(self, local: Path, bucket: str, prefix: str) -> str:
        """Copy the files under ``local`` to ``s3://bucket/prefix/`` (see :func:`upload_tree`);
        return that URL."""
        upload_tree(self.filesystem(), local, bucket, prefix)
        return f"s3://{bucket}/{prefix}/"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def s3_with_credentials() -> Iterator[S3Server]:
    """An :class:`S3Server` with the test credentials in the environment (where s3fs and
    subprocesses find them) while it runs; the environment as it was afterwards."""
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    server = S3Server()
    try:
        yield server
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
