"""Class vocabularies (sdaie.tags.vocab)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sdaie.tags.vocab import OTHER, Vocabulary

COLUMNS = {"make": "make", "flash": "flash"}


def _train() -> pl.DataFrame:
    makes = ["Canon"] * 5 + ["Nikon"] * 3 + ["Sony"] * 3 + ["Leica"] * 2 + ["Ricoh"] + [None] * 2
    flash = ["0"] * 8 + ["16"] * 4 + ["24"] * 2 + [None] * 2
    return pl.DataFrame({"make": makes, "flash": flash})


def test_min_count_order_other_and_missing():
    vocab = Vocabulary.build(_train(), min_count=3, columns=COLUMNS)
    make = vocab.tags["make"]
    assert make.values == ["Canon", "Nikon", "Sony"]  # count desc, then value
    assert make.counts == [5, 3, 3]
    assert (make.other_count, make.missing_count, make.other_index) == (3, 2, 3)
    assert vocab.labels("make") == ["Canon", "Nikon", "Sony", OTHER]
    assert vocab.built_on["rows"] == 16
    idx = vocab.apply(_train(), COLUMNS)
    assert idx["make_idx"].dtype == pl.Int32
    assert idx["make_idx"].to_list() == [0] * 5 + [1] * 3 + [2] * 3 + [3] * 3 + [None] * 2
    assert idx["flash_idx"].to_list() == [0] * 8 + [1] * 4 + [2] * 2 + [None] * 2
    with pytest.raises(ValueError):
        Vocabulary.from_counts({"make": {"a": 1}}, min_count=0)


def test_saved_vocabulary_is_reused_not_rebuilt(tmp_path):
    vocab = Vocabulary.build(_train(), min_count=3, columns=COLUMNS)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.hash == vocab.hash and json.loads(path.read_text())["hash"] == vocab.hash
    # new data with other proportions and unseen values: same indices for known values, unseen -> other
    new = pl.DataFrame({"make": ["Sony", "Pentax", "Canon", None, "Nikon", "Leica"], "flash": ["24", "99", None, "0", "16", "0"]})
    assert loaded.apply(new, COLUMNS)["make_idx"].to_list() == [2, 3, 0, None, 1, 3]
    assert loaded.apply(new, COLUMNS)["flash_idx"].to_list() == [2, 2, None, 0, 1, 0]  # "24" fell below min_count
    assert vocab.apply(new.lazy(), COLUMNS).collect().equals(loaded.apply(new, COLUMNS))


def test_hash_tracks_the_mapping(tmp_path):
    base = Vocabulary.build(_train(), min_count=3, columns=COLUMNS)
    more = _train().vstack(pl.DataFrame({"make": ["Leica"], "flash": ["0"]}))
    changed = Vocabulary.build(more, min_count=3, columns=COLUMNS)  # Leica now kept
    assert changed.tags["make"].values != base.tags["make"].values and changed.hash != base.hash
    assert Vocabulary.build(_train(), min_count=2, columns=COLUMNS).hash != base.hash
    recount = Vocabulary.build(_train().vstack(_train().head(1)), min_count=3, columns=COLUMNS)
    assert recount.tags["make"].values == base.tags["make"].values and recount.hash == base.hash
    # a tampered file is refused
    path = tmp_path / "vocab.json"
    base.save(path)
    data = json.loads(path.read_text())
    data["tags"]["make"]["values"][0] = "Kodak"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="hash mismatch"):
        Vocabulary.load(path)


def test_empty_vocabulary_maps_everything_to_other():
    vocab = Vocabulary.from_counts({"make": {None: 4}}, min_count=1)
    out = pl.DataFrame({"make": ["Canon", None]}).select(vocab.index_expr("make", "make"))
    assert out.to_series().to_list() == [0, None]
    assert vocab.labels("make") == [OTHER]
