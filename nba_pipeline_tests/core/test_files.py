"""Files replaced atomically get the mode an ordinary new file gets (mkstemp's is 0600: a web
server publishing the exports could not read them)."""

import os

import pytest

from nba_pipeline.core.files import write_text_atomic


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_replaced_file_has_the_mode_the_umask_gives_a_new_file(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = write_text_atomic(tmp_path / "report" / "2025-11-05.html", "<html></html>")
        path = write_text_atomic(path, "<html>again</html>")  # a replacement too
    finally:
        os.umask(previous)
    assert path.read_text() == "<html>again</html>"
    assert path.stat().st_mode & 0o777 == mode
    assert os.listdir(path.parent) == ["2025-11-05.html"]
