"""The exports directory replaces files atomically: a reader sees the old file or the new one,
and a failed write leaves the old file and no temporary behind."""

import os

import pytest

from nba_pipeline.exports.directory import ExportsDirectory, ExportWriteError, exports_from_env


def test_write_creates_directories_and_replaces(tmp_path):
    exports = ExportsDirectory(directory=str(tmp_path / "exports"))
    path = exports.write_text("best_bets/2025-11-01.json", "old\n")
    assert path == tmp_path / "exports" / "best_bets" / "2025-11-01.json" and path.read_text() == "old\n"
    exports.write_text("best_bets/2025-11-01.json", "new\n")
    assert exports.read_text("best_bets/2025-11-01.json") == "new\n"
    assert exports.read_text("best_bets/2025-11-02.json") is None
    assert os.listdir(path.parent) == ["2025-11-01.json"]


@pytest.mark.parametrize("failure", ["rename", "write"])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, failure):
    exports = ExportsDirectory(directory=str(tmp_path))
    exports.write_text("best_bets/d.json", "old\n")
    if failure == "rename":

        def broken_replace(src, dst):
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            exports.write_text("best_bets/d.json", "new\n")
    else:
        with pytest.raises(TypeError):
            exports.write_text("best_bets/d.json", None)  # type: ignore[arg-type]
    assert (tmp_path / "best_bets" / "d.json").read_text() == "old\n"
    assert os.listdir(tmp_path / "best_bets") == ["d.json"]


def test_an_unwritable_directory_is_one_line_naming_the_file_the_directory_and_the_variable(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    exports = ExportsDirectory(directory=str(blocker / "exports"))
    with pytest.raises(ExportWriteError) as raised:
        exports.write_text("report/2025-11-05.html", "<html></html>")
    assert str(raised.value) == (
        f"cannot write report/2025-11-05.html in the exports directory {blocker / 'exports'}: Not a directory "
        "(the `exports` resource's directory: NBA_EXPORTS_DIR)"
    )


def test_default_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("NBA_EXPORTS_DIR", raising=False)
    monkeypatch.delenv("NBA_EXPORTS_URL", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    exports = exports_from_env()
    assert (exports.directory, exports.url) == (str(tmp_path / "exports"), None)
    monkeypatch.setenv("NBA_EXPORTS_DIR", "/srv/exports")
    monkeypatch.setenv("NBA_EXPORTS_URL", "https://example.com/nba/")
    exports = exports_from_env()
    assert (exports.directory, exports.url_of("best_bets/2025-11-01.json")) == (
        "/srv/exports",
        "https://example.com/nba/best_bets/2025-11-01.json",
    )
