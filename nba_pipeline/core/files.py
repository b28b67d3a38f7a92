"""Files replaced atomically: a reader (a website polling an export, a source reading its archive)
sees the old file or the new one, never half of one. A temporary file in the same directory,
fsynced, is renamed over the old one with `os.replace` (atomic on POSIX within one file system);
a failed write leaves the old file in place and no temporary behind."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_text_atomic(target: Path, text: str) -> Path:
    """Replace `target` with `text` atomically (temp file + fsync + os.replace)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # not mkstemp: its file is 0600, so the replaced file would be unreadable to any other user (a
    # web server publishing the exports); opened 0666, the kernel applies the umask as for any new file
    tmp = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
