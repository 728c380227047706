"""Filesystems whose folders' times follow their entries: where a folder listing may be kept.

POSIX has a folder's modification time change whenever an entry is added, removed or
renamed in it, and local Linux filesystems keep that promise. FUSE filesystems (object
store mounts among them) and network ones may not, or may answer ``stat`` and
``readdir`` from caches of different ages. So the scan cache keeps the listing of a
folder only on a filesystem named in :data:`LOCAL_FILESYSTEMS`, found by the folder's
device number in ``/proc/self/mountinfo``: on Linux only, elsewhere no listing is kept.
"""

from __future__ import annotations

import os

LOCAL_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "jfs",
                               "bcachefs", "overlay"})
MOUNTINFO = "/proc/self/mountinfo"


def local_devices(mountinfo: str = MOUNTINFO) -> frozenset[int]:
    """The device numbers (``st_dev``) of the mounted filesystems named in
    :data:`LOCAL_FILESYSTEMS`; none where ``mountinfo`` cannot be read."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return frozenset()
    found = set()
    for line in lines:  # "36 35 98:0 /root /mnt opts [optional fields] - ext4 /dev/sda1 rw"
        head, dash, tail = line.partition(" - ")
        fields, kind = head.split(), tail.split()
        if not dash or len(fields) < 3 or not kind or kind[0] not in LOCAL_FILESYSTEMS:
            continue
        major, _, minor = fields[2].partition(":")
        try:
            found.add(os.makedev(int(major), int(minor)))
        except ValueError:
            continue
    return frozenset(found)
