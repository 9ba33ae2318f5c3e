import json
import os
from pathlib import Path

import numpy as np
import pytest

from emotag.data.goemotions import SPLITS, read_split
from emotag.data.taxonomy import (
    TAXONOMIES,
    load_label_names,
    load_mapping,
    taxonomy_labels,
    taxonomy_matrix,
)

FINE = ["anger", "fear", "joy", "love", "surprise", "neutral"]
EKMAN = {"anger": ["anger"], "fear": ["fear"], "joy": ["joy", "love"], "surprise": ["surprise"]}
SENTIMENT = {"negative": ["anger", "fear"], "positive": ["joy", "love"], "ambiguous": ["surprise"]}
# The sentiment taxonomy's oracle lives under derived/group, named after the paper's grouping.
DERIVED = {"ekman": "ekman", "sentiment": "group"}


def shared_data_dir() -> Path:
    env = os.environ.get("GOEMOTIONS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared/data/goemotions"


@pytest.fixture
def tiny_dir(tmp_path):
    (tmp_path / "emotions.txt").write_text("\n".join(FINE) + "\n", encoding="utf-8")
    (tmp_path / "ekman_mapping.json").write_text(json.dumps(EKMAN), encoding="utf-8")
    (tmp_path / "sentiment_mapping.json").write_text(json.dumps(SENTIMENT), encoding="utf-8")
    return tmp_path


def write_mapping(directory, mapping):
    (directory / "ekman_mapping.json").write_text(json.dumps(mapping), encoding="utf-8")


def test_load_label_names(tiny_dir):
    assert load_label_names(tiny_dir) == FINE


def test_load_label_names_rejects_duplicates(tmp_path):
    (tmp_path / "emotions.txt").write_text("joy\njoy\nneutral\n", encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate"):
        load_label_names(tmp_path)


def test_taxonomy_labels_are_sorted_with_neutral(tiny_dir):
    assert taxonomy_labels("fine", tiny_dir) == FINE
    assert taxonomy_labels("ekman", tiny_dir) == ["anger", "fear", "joy", "neutral", "surprise"]
    assert taxonomy_labels("sentiment", tiny_dir) == [
        "ambiguous",
        "negative",
        "neutral",
        "positive",
    ]


def test_unknown_taxonomy(tiny_dir):
    with pytest.raises(ValueError, match="unknown taxonomy"):
        taxonomy_labels("plutchik", tiny_dir)
    with pytest.raises(ValueError, match="unknown taxonomy"):
        taxonomy_matrix(FINE, "plutchik", tiny_dir)


def test_fine_matrix_is_identity(tiny_dir):
    np.testing.assert_array_equal(taxonomy_matrix(FINE, "fine", tiny_dir), np.eye(len(FINE)))


def test_ekman_matrix_maps_multi_hot(tiny_dir):
    m = taxonomy_matrix(FINE, "ekman", tiny_dir)
    coarse = taxonomy_labels("ekman", tiny_dir)
    assert m.shape == (len(FINE), len(coarse))
    np.testing.assert_array_equal(m.sum(axis=1), np.ones(len(FINE)))
    assert m[FINE.index("neutral"), coarse.index("neutral")] == 1
    # joy + love collapse to one joy; neutral alongside an emotion is kept.
    fine = np.array([[0, 0, 1, 1, 0, 0], [1, 0, 0, 0, 0, 1]], dtype=np.float32)
    np.testing.assert_array_equal((fine @ m > 0).astype(int), [[0, 0, 1, 0, 0], [1, 0, 0, 1, 0]])


def test_sentiment_accepts_upstream_file_name(tiny_dir):
    (tiny_dir / "sentiment_mapping.json").rename(tiny_dir / "sentiment_dict.json")
    assert load_mapping("sentiment", tiny_dir) == SENTIMENT


def test_missing_mapping_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="ekman_mapping.json"):
        taxonomy_matrix(FINE, "ekman", tmp_path)


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({**EKMAN, "fear": ["fear", "anger"]}, r"listed more than once: \['anger'\]"),
        ({k: v for k, v in EKMAN.items() if k != "fear"}, r"not mapped: \['fear'\]"),
        ({**EKMAN, "fear": ["fear", "awe"]}, r"not non-neutral fine labels: \['awe'\]"),
        ({**EKMAN, "fear": ["fear", "neutral"]}, r"not non-neutral fine labels: \['neutral'\]"),
        ({**EKMAN, "neutral": []}, "must not list 'neutral'"),
    ],
    ids=["duplicate", "missing", "unknown", "neutral-as-fine", "neutral-as-coarse"],
)
def test_invalid_mapping(tiny_dir, mapping, message):
    write_mapping(tiny_dir, mapping)
    with pytest.raises(ValueError, match=message):
        taxonomy_matrix(FINE, "ekman", tiny_dir)


def test_mapping_must_be_name_to_list(tiny_dir):
    write_mapping(tiny_dir, {"joy": "joy"})
    with pytest.raises(ValueError, match="list of label names"):
        load_mapping("ekman", tiny_dir)


@pytest.fixture(scope="module")
def real_fine():
    data_dir = shared_data_dir()
    if not (data_dir / "train.tsv").is_file():
        pytest.skip(f"GoEmotions not found at {data_dir}; set GOEMOTIONS_DIR to run")
    names = load_label_names(data_dir)
    return data_dir, names, {s: read_split(data_dir / f"{s}.tsv", len(names)) for s in SPLITS}


@pytest.mark.parametrize("taxonomy", [t for t in TAXONOMIES if t != "fine"])
def test_mapping_reproduces_derived_oracle(real_fine, taxonomy):
    data_dir, fine_names, fine_splits = real_fine
    derived = data_dir / "derived" / DERIVED[taxonomy]
    oracle_labels = (derived / "labels.txt").read_text(encoding="utf-8").split()
    assert taxonomy_labels(taxonomy, data_dir) == oracle_labels
    m = taxonomy_matrix(fine_names, taxonomy, data_dir)
    for split in SPLITS:
        fine = fine_splits[split]
        oracle = read_split(derived / f"{split}.tsv", len(oracle_labels))
        assert oracle.texts == fine.texts
        assert oracle.ids == fine.ids
        mapped = (fine.labels @ m > 0).astype(np.float32)
        mismatched = np.flatnonzero((mapped != oracle.labels).any(axis=1))
        assert mismatched.size == 0, f"{split}: rows {mismatched[:10]} differ from {derived}"
