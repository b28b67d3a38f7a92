"""Where file exports go: a directory (local or a mounted bucket), written atomically.

Readers of an export (a website, a bot) poll the file; they must never see half of one. Each file
is written to a temporary file in the same directory and renamed over the old one with
`os.replace`, which is atomic on POSIX within one file system: a reader sees the old file or the
new one, and a failed write leaves the old file in place and no temporary behind.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field as PydanticField

import nba_pipeline.environment as environment
from nba_pipeline.core.files import write_text_atomic


class ExportWriteError(OSError):
    """An export that could not be written: which file, in which directory, why, and what sets the
    directory (the step fails with this one line, not the bare OSError's path)."""


class ExportsDirectory(dg.ConfigurableResource):
    """The root directory of the file exports (e.g. `best_bets/2025-11-01.json`)."""

    directory: str
    url: str | None = PydanticField(
        default=None,
        description="Where readers fetch the directory's files (a website or bucket's base URL, "
        "NBA_EXPORTS_URL); each file's materialization then links to it.",
    )

    def path(self, relative: str) -> Path:
        return Path(self.directory) / relative

    def url_of(self, relative: str) -> str | None:
        """The published URL of a file (None: the directory is not published)."""
        return f"{self.url.rstrip('/')}/{relative}" if self.url else None

    def write_text(self, relative: str, text: str) -> Path:
        """Replace `relative` with `text` atomically."""
        try:
            return write_text_atomic(self.path(relative), text)
        except OSError as exc:
            raise ExportWriteError(
                f"cannot write {relative} in the exports directory {self.directory}: {exc.strerror or exc} "
                "(the `exports` resource's directory: NBA_EXPORTS_DIR)"
            ) from None  # the message holds the OS's reason; its bare path would be the one line shown

    def read_text(self, relative: str) -> str | None:
        """The file's text, or None when it does not exist."""
        try:
            return self.path(relative).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None


def exports_from_env() -> ExportsDirectory:
    """NBA_EXPORTS_DIR (default: exports/ beside the instance) and NBA_EXPORTS_URL."""
    settings = environment.exports_settings()
    return ExportsDirectory(directory=settings.directory, url=settings.url)
