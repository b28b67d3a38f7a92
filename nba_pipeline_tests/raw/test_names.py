import pandas as pd

from nba_pipeline.raw.names import load_aliases, match_player_names, normalise_name

PLAYERS = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6, 1630529],
        "full_name": [
            "Trey Murphy III",
            "Kevin Porter Jr.",
            "Nikola Jokić",
            "Shai Gilgeous-Alexander",
            "Tony Mitchell",
            "Tony Mitchell",
            "Herbert Jones",
        ],
        "is_active": [True, True, True, True, False, False, True],
    }
)


def test_normalise_name():
    assert normalise_name("Nikola Jokić") == "nikola jokic"
    assert normalise_name("Trey Murphy III") == normalise_name("Trey Murphy") == "trey murphy"
    assert normalise_name("Kevin Porter Jr.") == normalise_name("Kevin Porter Jr") == "kevin porter"
    assert normalise_name("Shai Gilgeous-Alexander") == "shai gilgeous alexander"
    assert normalise_name("D'Angelo Russell") == "dangelo russell"


def test_match_methods_and_unmatched_names_are_kept():
    names = pd.Series(
        [
            "Nikola Jokić",
            "Nikola Jokic",
            "Kevin Porter Jr",
            "Herb Jones",
            "Tony Mitchell",
            "Nobody Atall",
            "Nobody Atall",
        ]
    )
    m = match_player_names(names, PLAYERS)
    assert m.player_id.tolist()[:4] == [3, 3, 2, 1630529]
    assert m.method.tolist() == ["exact", "normalised", "normalised", "alias", "ambiguous", "unmatched", "unmatched"]
    assert m.player_id[4:].isna().all() and len(m.player_id) == len(names)  # nothing dropped
    assert m.player_name[3] == "Herbert Jones"


def test_alias_table_covers_the_known_nicknames():
    aliases = set(load_aliases()["odds_name"])
    assert {"Herb Jones", "Nicolas Claxton", "Carlton Carrington", "Ron Holland", "Vincent Williams Jr"} <= aliases
