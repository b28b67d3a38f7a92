"""Files replaced atomically: a reader (a website polling an export, a source reading its archive)
sees the old file or the new one, never half of one. A temporary file in the same directory,
fsynced, is renamed over the old one with `os.replace` (atomic on POSIX within one file system);
a failed write leaves the old file in place and no temporary behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


def write_text_atomic(target: Path, text: str) -> Path:
    """Replace `target` with `text` atomically (temp file + fsync + os.replace)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600: the replaced file would be unreadable to any other user (a
        # web server publishing the exports). Give it the mode an ordinary new file gets.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
