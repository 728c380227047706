"""Filesystems whose folders' times follow their entries: where a folder listing may be kept.

POSIX has a folder's modification time change whenever an entry is added, removed or
renamed in it, and local Linux filesystems keep that promise. FUSE filesystems (object
store mounts among them) and network ones may not, or may answer ``stat`` and
``readdir`` from caches of different ages. So the scan cache keeps the listing of a
folder only on a filesystem named in :data:`LOCAL_FILESYSTEMS`, found by the folder's
device number in ``/proc/self/mountinfo``: on Linux only, elsewhere no listing is kept.
A Btrfs subvolume reports a device number of its own, not the one mountinfo lists, so
each local mount point's own ``st_dev`` counts too (a subvolume that is not mounted
anywhere is a miss: its folders are listed every time).
"""

from __future__ import annotations

import os
import re

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
        if not dash or len(fields) < 5 or not kind or kind[0] not in LOCAL_FILESYSTEMS:
            continue
        major, _, minor = fields[2].partition(":")
        try:
            found.add(os.makedev(int(major), int(minor)))
            found.add(os.stat(_unescaped(fields[4])).st_dev)  # a Btrfs subvolume's own number
        except (ValueError, OSError):
            continue
    return frozenset(found)


def _unescaped(field: str) -> str:
    """A mountinfo path: space, tab, newline and backslash are written as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
