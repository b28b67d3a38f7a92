"""Compare two builds of the pipeline, e.g. before and after a refactor that must not change
behaviour: every warehouse table row for row (EXCEPT ALL both ways), every check evaluation
(asset, check, partition, passed, severity, description), and every export file (best-bets JSON
without its run-specific `generated_at` and `run_id`).

    python benchmarks/compare_builds.py HOME_A HOME_B

Each HOME is a DAGSTER_HOME that ran the same backfills with the default embedded deployment
(warehouse.duckdb and exports/ inside it). Prints one line per table and a total; exits 1 on any
difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

DUMP_CHECKS = """
import dagster as dg
with dg.DagsterInstance.get() as instance:
    rows = []
    for run in instance.get_runs():
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            ev = e.dagster_event.event_specific_data
            rows.append("\\t".join([ev.asset_key.to_user_string(), ev.check_name, str(ev.partition), str(ev.passed),
                                    str(ev.severity), (ev.description or "").replace("\\n", " ")]))
    print("\\n".join(sorted(rows)))
"""


def tables(a: Path, b: Path) -> int:
    con = duckdb.connect()
    con.execute(f"ATTACH '{a / 'warehouse.duckdb'}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b / 'warehouse.duckdb'}' AS b (READ_ONLY)")
    listed = "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1, 2"
    in_a, in_b = con.execute(listed, ["a"]).fetchall(), con.execute(listed, ["b"]).fetchall()
    differing = 0
    for only, where in ((set(in_a) - set(in_b), "A"), (set(in_b) - set(in_a), "B")):
        for schema, table in sorted(only):
            print(f"{schema}.{table}: only in {where}")
            differing += 1
    for schema, table in sorted(set(in_a) & set(in_b)):
        name = f"{schema}.{table}"
        rows = con.execute(f"SELECT count(*) FROM a.{name}").fetchone()[0]
        a_b = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM a.{name} EXCEPT ALL SELECT * FROM b.{name})"
        ).fetchone()[0]
        b_a = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM b.{name} EXCEPT ALL SELECT * FROM a.{name})"
        ).fetchone()[0]
        print(f"{name:45} {rows:8} rows   A-B {a_b}   B-A {b_a}")
        differing += a_b + b_a
    return differing


def checks(home: Path) -> list[str]:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", DUMP_CHECKS], env=env, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def exports(home: Path) -> dict[str, dict]:
    files = {}
    for path in sorted((home / "exports").rglob("*.json")):
        data = json.loads(path.read_text())
        data.pop("generated_at", None)
        data.pop("run_id", None)
        files[str(path.relative_to(home / "exports"))] = data
    return files


def main(a: Path, b: Path) -> int:
    differing = tables(a, b)
    ca, cb = checks(a), checks(b)
    changed = sorted(set(ca) ^ set(cb))
    print(f"check evaluations: {len(ca)} and {len(cb)}, {len(changed)} differing")
    for line in changed[:20]:
        print(("A " if line in ca else "B ") + line)
    ea, eb = exports(a), exports(b)
    files = sorted(k for k in set(ea) | set(eb) if ea.get(k) != eb.get(k))
    print(f"export files: {len(ea)} and {len(eb)}, {len(files)} differing (without generated_at, run_id)", *files[:10])
    differing += len(changed) + len(files)
    print("identical" if not differing else f"{differing} difference(s)")
    return 1 if differing else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compare_builds.py HOME_A HOME_B")
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
