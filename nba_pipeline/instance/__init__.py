"""The Dagster instance nba_pipeline runs on by default: SQLite storage under DAGSTER_HOME."""

from __future__ import annotations

import shutil
from pathlib import Path

EMBEDDED_INSTANCE_YAML = Path(__file__).with_name("dagster.yaml")


def prepare_home(home: Path) -> Path:
    """Create `home` with the embedded instance's dagster.yaml unless it already has one."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(EMBEDDED_INSTANCE_YAML, target)
    return home
