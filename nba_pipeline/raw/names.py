"""Sportsbook player names -> NBA.com player ids.

Odds feeds spell names freely: accents dropped, suffixes with or without dots, nicknames. Names
are matched on a normal form (accents, punctuation, hyphens and generational suffixes removed),
then through an alias table for nicknames. A name that matches nothing, or several players, stays
unmatched and is reported, never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

import pandas as pd

_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
_PUNCT = re.compile(r"[.'’`,]")


def normalise_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    ascii_name = _PUNCT.sub("", ascii_name).replace("-", " ")
    tokens = [t for t in ascii_name.split() if t not in _SUFFIXES]
    return " ".join(tokens)


def load_aliases() -> pd.DataFrame:
    with resources.files("nba_pipeline.raw").joinpath("player_aliases.csv").open() as fh:
        return pd.read_csv(fh, dtype={"odds_name": str, "player_id": "Int64", "note": str})


@dataclass(frozen=True)
class NameMatch:
    player_id: pd.Series  # Int64, <NA> where unmatched
    player_name: pd.Series  # reference full name, <NA> where unmatched
    method: pd.Series  # 'exact' | 'normalised' | 'alias' | 'ambiguous' | 'unmatched'


def match_player_names(names: pd.Series, players: pd.DataFrame, aliases: pd.DataFrame | None = None) -> NameMatch:
    """Match free-text `names` against the reference `players` (id, full_name, is_active)."""
    aliases = load_aliases() if aliases is None else aliases
    ref = players[["id", "full_name", "is_active"]].copy()
    ref["norm"] = ref["full_name"].map(normalise_name)
    # a normal form shared by several players resolves to the active one, if exactly one is
    counts = ref.groupby("norm")["id"].transform("size")
    active_counts = ref.groupby("norm")["is_active"].transform("sum")
    unique_norm = ref[(counts == 1) | ((active_counts == 1) & ref["is_active"])]
    by_norm = unique_norm.drop_duplicates("norm").set_index("norm")["id"]
    ambiguous = set(ref.loc[(counts > 1) & (active_counts != 1), "norm"])
    by_exact = ref.drop_duplicates("full_name", keep=False).set_index("full_name")["id"]
    by_alias = aliases.set_index("odds_name")["player_id"]

    uniq = pd.Series(names.dropna().unique())
    norm = uniq.map(normalise_name)
    exact = uniq.map(by_exact)
    via_norm = norm.map(by_norm)
    via_alias = uniq.map(by_alias)
    pid = exact.fillna(via_norm).fillna(via_alias).astype("Int64")
    method = pd.Series("unmatched", index=uniq.index, dtype=object)
    method[norm.isin(ambiguous)] = "ambiguous"
    method[via_alias.notna()] = "alias"
    method[via_norm.notna()] = "normalised"
    method[exact.notna()] = "exact"
    lookup = pd.DataFrame({"name": uniq, "player_id": pid, "method": method}).set_index("name")
    full_names = ref.drop_duplicates("id").set_index("id")["full_name"]

    matched_id = names.map(lookup["player_id"]).astype("Int64")
    return NameMatch(
        player_id=matched_id,
        player_name=matched_id.map(full_names).astype("string"),
        method=names.map(lookup["method"]).fillna("unmatched"),
    )
