"""Is another program still writing this file? What each platform lets us see.

- **Windows**: opening the file while denying others the right to write
  (``CreateFileW`` with share mode ``FILE_SHARE_READ`` only) fails with a sharing violation
  while any process, on this machine or through the share, holds it open for writing. That
  is the exact test; Python's own ``open`` shares read and write, so it cannot tell.
- **Linux**: no such share modes. ``/proc/<pid>/fd`` shows the files each process holds and
  ``/proc/<pid>/fdinfo`` whether for writing, for processes of the same user (all of them as
  root). A writer on another machine (an ERP writing to a Samba or NFS share) cannot be
  seen: there, the age and stability checks are what protects.
- **Elsewhere** (macOS): not detected; the age and stability checks apply.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SHARING_VIOLATIONS = (32, 33)  # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR


def held_for_writing(path: Path) -> str:
    """Why the file is still being written (in plain words), or "" when nothing says so."""
    if sys.platform == "win32":  # pragma: no cover
        return _windows_probe(path)
    if sys.platform.startswith("linux"):
        return _linux_writer(path)
    return ""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only

    def _windows_probe(path: Path) -> str:  # pragma: no cover - exercised on Windows only
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        create = kernel32.CreateFileW
        create.restype = wintypes.HANDLE
        create.argtypes = [
            wintypes.LPCWSTR,
            wintypes.DWORD,
            wintypes.DWORD,
            wintypes.LPVOID,
            wintypes.DWORD,
            wintypes.DWORD,
            wintypes.HANDLE,
        ]
        generic_read, share_read, open_existing, normal = 0x80000000, 0x1, 3, 0x80
        handle = create(str(path), generic_read, share_read, None, open_existing, normal, None)
        if handle == wintypes.HANDLE(-1).value:
            error = ctypes.get_last_error()
            if error in SHARING_VIOLATIONS:
                return "open for writing in another program (the ERP may still be writing it)"
            return f"cannot be opened for reading yet (Windows error {error})"
        kernel32.CloseHandle(handle)
        return ""


def _linux_writer(path: Path) -> str:
    try:
        target = path.stat()
    except OSError:
        return ""
    me = str(os.getpid())
    try:
        processes = [entry.name for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:
        return ""
    for pid in processes:
        if pid != me and _writes(pid, target.st_dev, target.st_ino):
            return f"open for writing by another program ({_command(pid)}, process {pid})"
    return ""


def _writes(pid: str, device: int, inode: int) -> bool:
    folder = Path("/proc", pid, "fd")
    try:
        descriptors = list(folder.iterdir())
    except OSError:  # another user's process, or it just ended
        return False
    for fd in descriptors:
        try:
            info = fd.stat()  # follows the link to the open file
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == (device, inode) and _flags(pid, fd.name) & _WRITE_FLAGS:
            return True
    return False


def _flags(pid: str, fd: str) -> int:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as handle:
            for line in handle:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _command(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip() or "?"
    except OSError:
        return "?"
