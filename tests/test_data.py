import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from emotag.data import goemotions as data
from emotag.data.downloads import DownloadError
from emotag.data.goemotions import (
    GOEMOTIONS_ENV,
    SPLITS,
    UPSTREAM_FILES,
    DataFormatError,
    download_goemotions,
    load_goemotions,
    load_label_names,
    read_split,
    resolve_data_dir,
)

LABELS = ["anger", "joy", "love", "neutral"]
ROWS = {
    "train": ['He said "hi" to [NAME]\t1,2\tid1', "  padded text \t3\tid2", "grr\t0,3\tid3"],
    "dev": ["ok then\t3\tid4"],
    "test": ["yay\t1\tid5"],
}
EXPECTED_ROWS = {"train": 43410, "dev": 5426, "test": 5427}


def shared_data_dir() -> Path:
    env = os.environ.get(GOEMOTIONS_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared/data/goemotions"


# Resolved at import, before the autouse fixture below clears the environment variable.
SHARED_DIR = shared_data_dir()


def write_dataset(directory: Path, sentiment_name="sentiment_mapping.json") -> Path:
    """Write a tiny GoEmotions-shaped dataset (4 labels) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "emotions.txt").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    for split, rows in ROWS.items():
        (directory / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ekman = {"anger": ["anger"], "joy": ["joy", "love"]}
    sentiment = {"negative": ["anger"], "positive": ["joy", "love"]}
    (directory / "ekman_mapping.json").write_text(json.dumps(ekman), encoding="utf-8")
    (directory / sentiment_name).write_text(json.dumps(sentiment), encoding="utf-8")
    return directory


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    # Tests must not see a developer's GOEMOTIONS_DIR unless they set it themselves.
    monkeypatch.delenv(GOEMOTIONS_ENV, raising=False)


# --- parsing -------------------------------------------------------------------------------


def test_read_split_multi_hot_and_verbatim_text(tmp_path):
    write_dataset(tmp_path)
    split = read_split(tmp_path / "train.tsv", len(LABELS))
    assert split.texts == ['He said "hi" to [NAME]', "  padded text ", "grr"]
    assert split.ids == ["id1", "id2", "id3"]
    assert split.labels.dtype == np.float32
    np.testing.assert_array_equal(split.labels, [[0, 1, 1, 0], [0, 0, 0, 1], [1, 0, 0, 1]])


def test_read_split_only_splits_rows_on_newline(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_bytes("a\u2028b\r c\t0\tid1\r\nd\t1\tid2".encode())
    split = read_split(path, 2)
    assert split.texts == ["a\u2028b\r c", "d"]
    assert split.ids == ["id1", "id2"]


def test_data_format_error_is_value_error():
    assert issubclass(DataFormatError, ValueError)


@pytest.mark.parametrize(
    "row, message",
    [
        ("text\t1", "expected 3 tab-separated fields, found 2"),
        ("te\txt\t1\tid", "expected 3 tab-separated fields, found 4"),
        ("text\tx\tid", "label id 'x' is not an integer"),
        ("text\t1.0\tid", "label id '1.0' is not an integer"),
        ("text\t1, 2\tid", "label id ' 2' is not an integer"),
        ("text\t1,\tid", "label id '' is not an integer"),
        ("text\t4\tid", r"label id 4 out of range \[0, 4\)"),
        ("text\t-1\tid", r"label id -1 out of range \[0, 4\)"),
        ("text\t\tid", "empty label field"),
        ("\t1\tid", "empty text"),
        ("   \t1\tid", "empty text"),
        ("text\t1\t", "empty comment id"),
        ("", "expected 3 tab-separated fields, found 1"),
    ],
)
def test_read_split_malformed_row(tmp_path, row, message):
    path = tmp_path / "bad.tsv"
    path.write_text(f"ok\t0\tid1\nfine\t3\tid2\n{row}\nlater\t1\tid4\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=message) as info:
        read_split(path, len(LABELS))
    assert f"{path}:3:" in str(info.value)


def test_load_label_names_real_order():
    data_dir = SHARED_DIR
    if not (data_dir / "emotions.txt").is_file():
        pytest.skip(f"GoEmotions not found at {data_dir}; set {GOEMOTIONS_ENV} to run")
    names = load_label_names(data_dir)
    assert len(names) == 28
    assert names[0] == "admiration" and names[27] == "neutral"


def test_real_splits_row_counts_and_shapes():
    data_dir = SHARED_DIR
    if not (data_dir / "train.tsv").is_file():
        pytest.skip(f"GoEmotions not found at {data_dir}; set {GOEMOTIONS_ENV} to run")
    ds = load_goemotions(data_dir)
    assert ds.taxonomy == "fine" and len(ds.label_names) == 28
    for split in SPLITS:
        s = getattr(ds, split)
        assert len(s.texts) == len(s.ids) == EXPECTED_ROWS[split]
        assert s.labels.shape == (EXPECTED_ROWS[split], 28)
        assert (s.labels.sum(axis=1) >= 1).all()


# --- taxonomies through load_goemotions ---------------------------------------------------


def test_load_goemotions_coarse(tmp_path):
    write_dataset(tmp_path)
    ds = load_goemotions(tmp_path, taxonomy="ekman")
    assert ds.label_names == ["anger", "joy", "neutral"]
    np.testing.assert_array_equal(ds.train.labels, [[0, 1, 0], [0, 0, 1], [1, 0, 1]])
    assert ds.train.texts[0] == 'He said "hi" to [NAME]'
    ds = load_goemotions(tmp_path, taxonomy="sentiment")
    assert ds.label_names == ["negative", "neutral", "positive"]
    np.testing.assert_array_equal(ds.test.labels, [[0, 0, 1]])


def test_load_goemotions_unknown_taxonomy(tmp_path):
    write_dataset(tmp_path)
    with pytest.raises(ValueError, match="unknown taxonomy"):
        load_goemotions(tmp_path, taxonomy="plutchik")


# --- resolve_data_dir ---------------------------------------------------------------------


@pytest.fixture
def fake_download(monkeypatch):
    calls = []

    def fake(dest, *args, **kwargs):
        calls.append(Path(dest))
        return write_dataset(Path(dest), sentiment_name="sentiment_dict.json")

    monkeypatch.setattr(data, "download_goemotions", fake)
    return calls


def test_resolve_explicit_beats_env_and_cache(tmp_path, monkeypatch, fake_download):
    explicit = write_dataset(tmp_path / "explicit")
    monkeypatch.setenv(GOEMOTIONS_ENV, str(write_dataset(tmp_path / "env")))
    cache = write_dataset(tmp_path / "cache", sentiment_name="sentiment_dict.json")
    assert resolve_data_dir(str(explicit), cache_dir=cache) == explicit
    assert fake_download == []


def test_resolve_env_beats_cache(tmp_path, monkeypatch, fake_download):
    env = write_dataset(tmp_path / "env")
    monkeypatch.setenv(GOEMOTIONS_ENV, str(env))
    cache = write_dataset(tmp_path / "cache", sentiment_name="sentiment_dict.json")
    assert resolve_data_dir(cache_dir=cache) == env
    assert fake_download == []


def test_resolve_cache_beats_download(tmp_path, fake_download):
    cache = write_dataset(tmp_path / "cache", sentiment_name="sentiment_dict.json")
    assert resolve_data_dir(cache_dir=cache) == cache
    assert fake_download == []


def test_resolve_downloads_into_incomplete_cache(tmp_path, fake_download):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "train.tsv").write_text("x\t0\tid\n", encoding="utf-8")
    assert resolve_data_dir(cache_dir=cache) == cache
    assert fake_download == [cache]


def test_resolve_without_download_lists_what_was_tried(tmp_path, fake_download):
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError) as info:
        resolve_data_dir(cache_dir=cache, download=False)
    message = str(info.value)
    assert "data_dir argument" in message and GOEMOTIONS_ENV in message
    assert str(cache) in message and "train.tsv" in message
    assert fake_download == []


def test_resolve_says_how_to_go_on_when_the_download_fails(tmp_path, monkeypatch):
    import requests

    def offline(dest, *args, **kwargs):
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(data, "download_goemotions", offline)
    monkeypatch.delenv(GOEMOTIONS_ENV, raising=False)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        resolve_data_dir(cache_dir=cache)
    message = str(info.value)
    assert message.startswith(f"GoEmotions is not in {cache} and downloading it from http")
    assert "(Name or service not known)" in message and "resume" in message
    assert "--data-dir" in message and f"${GOEMOTIONS_ENV}" in message
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_resolve_explicit_dir_missing_files(tmp_path, fake_download):
    write_dataset(tmp_path)
    (tmp_path / "dev.tsv").unlink()
    (tmp_path / "emotions.txt").unlink()
    with pytest.raises(FileNotFoundError, match="missing: dev.tsv, emotions.txt"):
        resolve_data_dir(tmp_path)
    assert fake_download == []


def test_resolve_env_dir_missing_files(tmp_path, monkeypatch, fake_download):
    monkeypatch.setenv(GOEMOTIONS_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=rf"\${GOEMOTIONS_ENV}.*missing: train.tsv"):
        resolve_data_dir(cache_dir=write_dataset(tmp_path / "cache"))
    assert fake_download == []


# --- download_goemotions ------------------------------------------------------------------


@pytest.fixture
def upstream(tmp_path, monkeypatch, server):
    """An HTTP 'upstream' serving the tiny dataset under its upstream names, hashes patched.

    Returns (directory of the served files, base URL); the server is conftest's `server`.
    """
    source = write_dataset(tmp_path / "upstream", sentiment_name="sentiment_dict.json")
    hashes = {f"{s}.tsv": sha256(source / f"{s}.tsv") for s in SPLITS}
    monkeypatch.setattr(data, "SHA256", hashes)
    server.files.update({f"/data/{p.name}": p.read_bytes() for p in source.iterdir()})
    return source, server.url("/data/")


def test_download_fetches_all_files(tmp_path, upstream):
    source, url = upstream
    dest = download_goemotions(tmp_path / "dest", base_url=url)
    for name in UPSTREAM_FILES:
        assert (dest / name).read_bytes() == (source / name).read_bytes()
    assert (dest / "sentiment_mapping.json").read_bytes() == (
        source / "sentiment_dict.json"
    ).read_bytes()
    assert not list(dest.glob("*.part"))
    ds = load_goemotions(dest, taxonomy="sentiment")
    assert ds.train.ids == ["id1", "id2", "id3"]


def test_download_rejects_corrupted_file(tmp_path, upstream, monkeypatch):
    source, url = upstream
    wrong = "0" * 64
    monkeypatch.setitem(data.SHA256, "dev.tsv", wrong)
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError) as info:
        download_goemotions(dest, base_url=url)
    message = str(info.value)
    assert "dev.tsv" in message and wrong in message and sha256(source / "dev.tsv") in message
    assert not (dest / "dev.tsv").exists()
    assert not list(dest.glob("*.part"))


def test_download_skips_verified_and_replaces_bad_files(tmp_path, upstream, server):
    _, url = upstream
    dest = download_goemotions(tmp_path / "dest", base_url=url)
    (dest / "test.tsv").write_text("tampered\t0\tid\n", encoding="utf-8")
    for name in ("train.tsv", "dev.tsv", "emotions.txt"):
        del server.files[f"/data/{name}"]  # would fail if re-fetched
    download_goemotions(dest, base_url=url)
    assert read_split(dest / "test.tsv", len(LABELS)).ids == ["id5"]


def test_download_resumes_an_interrupted_file(tmp_path, upstream, server):
    source, url = upstream
    dest = tmp_path / "dest"
    dest.mkdir()
    head = (source / "train.tsv").read_bytes()[:10]
    (dest / "train.tsv.part").write_bytes(head)  # left by a download cut after 10 bytes
    download_goemotions(dest, base_url=url)
    assert (dest / "train.tsv").read_bytes() == (source / "train.tsv").read_bytes()
    assert "bytes=10-" in server.ranges and not list(dest.glob("*.part"))


def test_download_missing_upstream_file_names_url(tmp_path, upstream, server):
    _, url = upstream
    del server.files["/data/emotions.txt"]
    with pytest.raises(OSError, match="emotions.txt"):
        download_goemotions(tmp_path / "dest", base_url=url)


def test_real_sha256_constants_match_shared_copy():
    data_dir = SHARED_DIR
    if not (data_dir / "train.tsv").is_file():
        pytest.skip(f"GoEmotions not found at {data_dir}; set {GOEMOTIONS_ENV} to run")
    for name, expected in data.SHA256.items():
        assert sha256(data_dir / name) == expected
