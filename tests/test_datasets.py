"""Dataset adapters: SemEval E-c files, generic CSV/TSV/JSONL tables, split edits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emotag.data.datasets import SEMEVAL_EC_LABELS, DatasetSpec, load_dataset
from emotag.data.goemotions import DataFormatError, Dataset, GoEmotions
from emotag.data.splits import read_id_list, stratified_split, take, write_extra_rows
from emotag.data.tables import read_table

HEADER = "ID\tTweet\t" + "\t".join(SEMEVAL_EC_LABELS)


def semeval_row(i: int, text: str, on: tuple[str, ...]) -> str:
    bits = "\t".join("1" if name in on else "0" for name in SEMEVAL_EC_LABELS)
    return f"2018-En-{i:05d}\t{text}\t{bits}"


def write_semeval(directory: Path, splits=("train", "dev", "test-gold"), n: int = 12) -> Path:
    """E-c files as released: `2018-E-c-En-<split>.txt`, tweets with quotes and no label."""
    directory.mkdir(parents=True, exist_ok=True)
    cycle = [("joy", "love"), ("anger", "disgust"), (), ("fear",), ("optimism", "trust")]
    for split in splits:
        rows = [HEADER] + [
            semeval_row(i, f'"@user #SoHappy" tweet {i} !!!', cycle[i % len(cycle)])
            for i in range(n)
        ]
        (directory / f"2018-E-c-En-{split}.txt").write_text("\n".join(rows) + "\n")
    return directory


def test_dataset_alias_keeps_old_name():
    assert GoEmotions is Dataset


def test_semeval_ec_from_directory(tmp_path):
    data = load_dataset(DatasetSpec(dataset="semeval-ec", data_dir=str(write_semeval(tmp_path))))
    assert data.label_names == list(SEMEVAL_EC_LABELS) and data.name == "semeval-ec"
    assert len(data.train.texts) == len(data.dev.texts) == len(data.test.texts) == 12
    assert data.train.texts[0] == '"@user #SoHappy" tweet 0 !!!'  # quotes kept as is
    assert data.train.ids[1] == "2018-En-00001"
    joy, love = SEMEVAL_EC_LABELS.index("joy"), SEMEVAL_EC_LABELS.index("love")
    assert data.train.labels[0].nonzero()[0].tolist() == [joy, love]
    assert data.train.labels[2].sum() == 0  # a tweet without emotion is allowed
    assert data.train.labels.dtype == np.float32


def test_semeval_ec_without_dev_gets_a_stratified_seeded_dev(tmp_path):
    directory = write_semeval(tmp_path, splits=("train", "test-gold"), n=50)
    spec = DatasetSpec(dataset="semeval-ec", data_dir=str(directory), dev_fraction=0.2)
    data = load_dataset(spec)
    assert (len(data.train.texts), len(data.dev.texts)) == (40, 10)
    assert not set(data.train.ids) & set(data.dev.ids)
    # Every label pattern is 1/5 of the rows; stratification keeps that in dev.
    assert data.dev.labels.sum(axis=0)[SEMEVAL_EC_LABELS.index("fear")] == 2
    assert (data.dev.labels.sum(axis=1) == 0).sum() == 2
    assert load_dataset(spec).dev.ids == data.dev.ids  # seeded


def test_semeval_unlabelled_test_release_is_explained(tmp_path):
    directory = write_semeval(tmp_path, splits=("train", "dev"))
    rows = [HEADER, "2018-En-1\tok\t" + "\t".join(["NONE"] * 11)]
    (directory / "2018-E-c-En-test.txt").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match=r"test\.txt:2: .*NONE.*gold file"):
        load_dataset(DatasetSpec(dataset="semeval-ec", data_dir=str(directory)))


def test_semeval_missing_column_names_file(tmp_path):
    directory = write_semeval(tmp_path)
    path = directory / "2018-E-c-En-dev.txt"
    path.write_text(path.read_text().replace("\ttrust", "\ttrusting"))
    with pytest.raises(DataFormatError, match=r"En-dev\.txt: not a SemEval E-c file.*trust"):
        load_dataset(DatasetSpec(dataset="semeval-ec", data_dir=str(directory)))


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_csv_binary_columns_default_to_all_but_text_and_id(tmp_path):
    train = write(tmp_path / "train.csv", 'id,text,happy,sad\na,"Hi, ""you""",1,0\nb,meh,0,0\n')
    test = write(tmp_path / "test.csv", "id,text,happy,sad\nc,boo,0,1\nd,yay,1.0,0.0\n")
    dev = write(tmp_path / "dev.csv", "id,text,happy,sad\ne,hm,true,false\n")
    data = load_dataset(DatasetSpec(dataset="csv", train_file=train, dev_file=dev, test_file=test))
    assert data.label_names == ["happy", "sad"] and data.train.ids == ["a", "b"]
    assert data.train.texts[0] == 'Hi, "you"'
    assert data.test.labels.tolist() == [[0, 1], [1, 0]] and data.dev.labels.tolist() == [[1, 0]]


def test_csv_label_cols_choose_and_order_columns(tmp_path):
    for split in ("train", "dev", "test"):
        write(tmp_path / f"{split}.tsv", "text\tsource\tb\ta\nx\tweb\t1\t0\n")
    spec = DatasetSpec(dataset="csv", data_dir=str(tmp_path), label_cols="a,b")
    data = load_dataset(spec)
    assert data.label_names == ["a", "b"] and data.train.labels.tolist() == [[0, 1]]
    assert data.train.ids == ["train-2"]  # no id column: split and line number


def test_labels_column_with_names_and_ids(tmp_path):
    rows = [{"text": "so happy", "emotions": ["joy", "love"]}, {"text": "fine", "emotions": []}]
    write(tmp_path / "train.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    write(tmp_path / "test.tsv", "text\temotions\nugh\tanger\nyay\tjoy | love\n\n")
    write(tmp_path / "dev.csv", "text,emotions\nhm,\n")
    spec = DatasetSpec(dataset="csv", data_dir=str(tmp_path), labels_col="emotions",
                       label_sep="|")  # fmt: skip
    data = load_dataset(spec)
    assert data.label_names == ["anger", "joy", "love"]  # sorted names found in the files
    assert data.train.labels.tolist() == [[0, 1, 1], [0, 0, 0]]
    assert data.test.labels.tolist() == [[1, 0, 0], [0, 1, 1]]
    # Integer ids index --label-cols (or labels.txt beside the data).
    write(tmp_path / "train.jsonl", json.dumps({"text": "x", "emotions": [2, "0"]}) + "\n")
    write(tmp_path / "test.tsv", "text\temotions\nugh\t1\n")
    write(tmp_path / "labels.txt", "sad\nglad\nmad\n")
    data = load_dataset(spec)
    assert data.label_names == ["sad", "glad", "mad"] and data.train.labels.tolist() == [[1, 0, 1]]


@pytest.mark.parametrize(
    "train, message",
    [
        ("text,happy\nok,2\n", r"train\.csv:2: column 'happy' holds '2', not a binary"),
        ("text,happy\nok,\n", r"train\.csv:2: column 'happy' holds '', not a binary"),
        ("text,happy\nok,1\n  ,0\n", r"train\.csv:3: empty text in column 'text'"),
        ("tweet,happy\nok,1\n", r"train\.csv: no column 'text' .*--text-col"),
        ("text,happy\nok,1,3\n", r"train\.csv:2: expected 2 fields like the header, found 3"),
        ("text,text\nok,1\n", r"train\.csv:1: duplicate column names \['text'\]"),
        ("", r"train\.csv: empty file"),
    ],
)
def test_schema_errors_name_file_and_row(tmp_path, train, message):
    write(tmp_path / "train.csv", train)
    write(tmp_path / "test.csv", "text,happy\nfine,0\n")
    with pytest.raises(DataFormatError, match=message):
        load_dataset(DatasetSpec(dataset="csv", data_dir=str(tmp_path)))


def test_unknown_label_name_and_bad_id(tmp_path):
    write(tmp_path / "train.tsv", "text\tlabels\nok\tjoy\n")
    write(tmp_path / "test.tsv", "text\tlabels\nok\tjoyful\n")
    spec = DatasetSpec(dataset="csv", data_dir=str(tmp_path), labels_col="labels",
                       label_cols="joy,anger")  # fmt: skip
    with pytest.raises(DataFormatError, match=r"test\.tsv:2: unknown label 'joyful'"):
        load_dataset(spec)
    write(tmp_path / "test.tsv", "text\tlabels\nok\t5\n")
    with pytest.raises(DataFormatError, match=r"test\.tsv:2: label id 5 out of range"):
        load_dataset(spec)


def test_missing_test_file_is_a_clear_error(tmp_path):
    write(tmp_path / "train.csv", "text,a\nx,1\n")
    with pytest.raises(FileNotFoundError, match="no test file"):
        load_dataset(DatasetSpec(dataset="csv", data_dir=str(tmp_path)))


def test_exclude_ids_and_extra_rows_only_touch_train(tmp_path):
    directory = write_semeval(tmp_path / "data")
    flagged = write(tmp_path / "issues.csv", "rank,id,text\n1,2018-En-00001,x\n2,nope,y\n")
    extra = tmp_path / "extra.tsv"
    rows = [{"id": "aug-1", "text": "so\tglad\nnow", "labels": ["joy"], "source": "test"},
            {"id": "aug-2", "text": "meh", "labels": [], "source": "test"}]  # fmt: skip
    assert write_extra_rows(extra, rows) == 2
    spec = DatasetSpec(dataset="semeval-ec", data_dir=str(directory), exclude_ids=flagged,
                       extra_train=str(extra))  # fmt: skip
    base = load_dataset(DatasetSpec(dataset="semeval-ec", data_dir=str(directory)))
    data = load_dataset(spec)
    assert "2018-En-00001" not in data.train.ids and len(data.train.texts) == 12 - 1 + 2
    assert data.train.texts[-2:] == ["so glad now", "meh"] and data.train.ids[-1] == "aug-2"
    assert data.train.labels[-2].nonzero()[0].tolist() == [SEMEVAL_EC_LABELS.index("joy")]
    assert data.dev.ids == base.dev.ids and data.test.ids == base.test.ids
    assert data.excluded_ids == {"2018-En-00001", "nope"} and base.excluded_ids is None


def test_read_id_list_plain_lines(tmp_path):
    assert read_id_list(write(tmp_path / "ids.txt", "# flagged\na\n\n b \n")) == {"a", "b"}


def test_from_config_takes_known_fields_and_evaluation_drops_edits():
    spec = DatasetSpec.from_config({"dataset": "csv", "epochs": 3, "extra_train": "x.tsv"})
    assert spec.dataset == "csv" and spec.extra_train == "x.tsv"
    assert spec.for_evaluation().extra_train is None and spec.label_set == "csv"
    moved = DatasetSpec(data_dir="here", limit=5).for_evaluation("there")
    assert (moved.data_dir, moved.limit) == ("there", None)
    assert DatasetSpec(data_dir="here").for_evaluation().data_dir == "here"


def test_stratified_split_keeps_rare_labels_in_both_parts():
    from emotag.data.goemotions import Split

    labels = np.zeros((100, 3), np.float32)
    labels[:10, 0] = 1
    labels[10:60, 1] = 1
    labels[55:65, 2] = 1
    split = Split([f"t{i}" for i in range(100)], labels, [str(i) for i in range(100)])
    rest, held = stratified_split(split, 0.2, seed=0)
    assert len(held.texts) == 20 and sorted(rest.ids + held.ids, key=int) == split.ids
    assert held.labels.sum(axis=0).tolist() == [2, 10, 2]


def test_read_table_tsv_keeps_quotes_and_carriage_returns(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_bytes(b'text\tl\r\n"quoted\r \xe2\x80\xa8 text\t1\r\n')
    assert read_table(path).rows == [(2, {"text": '"quoted\r \u2028 text', "l": "1"})]
    path.write_bytes(b'text\tl\n"a\tb"\t1\n')
    with pytest.raises(DataFormatError, match=r"x\.tsv:2: expected 2 fields"):
        read_table(path)  # no CSV quoting in TSV: the tab splits the quoted text


@pytest.mark.slow
def test_train_evaluate_predict_on_semeval_with_tweet_preprocessing(tmp_path):
    from emotag.commands.evaluate import EvaluateConfig, evaluate
    from emotag.serving.predictor import LABEL_EMOJI, Predictor
    from emotag.text.preprocessing import PreprocessConfig
    from emotag.training.bilstm import TrainConfig, train

    directory = write_semeval(tmp_path / "semeval", splits=("train", "test-gold"), n=40)
    config = TrainConfig(
        dataset="semeval-ec", data_dir=str(directory), tweet_preprocessing=True,
        embeddings="random", embedding_dim=8, epochs=1, lstm_units=4, attention_units=4,
        batch_size=16, min_count=1, output_dir=str(tmp_path / "runs"), verbose=0,
    )  # fmt: skip
    run_dir = train(config)
    assert run_dir.name == "bilstm-semeval-ec-random-s42"
    assert (run_dir / "labels.txt").read_text().split() == list(SEMEVAL_EC_LABELS)
    saved, _ = PreprocessConfig.load(run_dir / "preprocess_config.json")
    assert saved.split_hashtags and saved.hashtag_marker and saved.squash_punctuation
    assert "SemEval-2018 Task 1 E-c" in (run_dir / "MODEL_CARD.md").read_text()

    # evaluate.py rebuilds the same dev split from train_config.json alone.
    report = evaluate(EvaluateConfig(model=str(run_dir), split="dev", out=str(tmp_path / "ev")))
    assert len(report["per_class"]) == 11
    header = (tmp_path / "ev" / "predictions_dev.tsv").read_text().splitlines()[0].split("\t")
    assert header[4:] == list(SEMEVAL_EC_LABELS)

    predictor = Predictor.load(run_dir)
    assert predictor.label_names == list(SEMEVAL_EC_LABELS)
    assert set(SEMEVAL_EC_LABELS) <= set(LABEL_EMOJI)
    tokens = [t for t, _ in predictor.explain(["#SoHappy!!!"])[0]]
    assert tokens == ["<hashtag>", "so", "happy", "!", "<repeat>"]  # serving repeats it


def test_an_empty_extra_file_adds_nothing(tmp_path):
    directory = write_semeval(tmp_path / "data")
    write_extra_rows(tmp_path / "none.tsv", [])
    spec = DatasetSpec(dataset="semeval-ec", data_dir=str(directory),
                       extra_train=str(tmp_path / "none.tsv"))  # fmt: skip
    assert len(load_dataset(spec).train.texts) == 12


def test_invalid_utf8_names_file_line_and_byte(tmp_path):
    """Regression (issue 15): a bare UnicodeDecodeError named neither file nor row."""
    from emotag.data.tables import read_table

    path = tmp_path / "bad.csv"
    path.write_bytes(b"text,joy\nfine,1\nbad \xff\xfe here,0\n")
    message = r"bad\.csv:3: not valid UTF-8 \(byte 0xff at column 5\)"
    with pytest.raises(DataFormatError, match=message):
        read_table(path)
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(b'{"text": "ok", "joy": 1}\n{"text": "\xc3("}\n')
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: not valid UTF-8"):
        read_table(jsonl)


def test_invalid_utf8_in_goemotions_split_and_id_list(tmp_path, tiny_data_dir):
    import shutil

    from emotag.data.goemotions import load_goemotions
    from emotag.data.splits import read_id_list

    data = tmp_path / "ge"
    shutil.copytree(tiny_data_dir, data)
    with open(data / "dev.tsv", "ab") as f:
        f.write(b"caf\xe9 latte\t0\tdevX\n")  # Latin-1, not UTF-8
    lines = (data / "dev.tsv").read_bytes().count(b"\n")
    with pytest.raises(DataFormatError, match=rf"dev\.tsv:{lines}: not valid UTF-8 \(byte 0xe9"):
        load_goemotions(data)
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"a1\n\x80b2\n")
    with pytest.raises(DataFormatError, match=r"ids\.txt:2: not valid UTF-8"):
        read_id_list(ids)


def test_empty_goemotions_split_is_refused(tmp_path, tiny_data_dir):
    import shutil

    from emotag.data.goemotions import load_goemotions

    data = tmp_path / "ge"
    shutil.copytree(tiny_data_dir, data)
    (data / "dev.tsv").write_text("")
    with pytest.raises(DataFormatError, match=r"dev\.tsv: no examples"):
        load_goemotions(data)


def test_a_csv_too_small_for_a_dev_split_is_refused(tmp_path, monkeypatch):
    train = tmp_path / "train.csv"
    test = tmp_path / "test.csv"
    test.write_text("text,joy\nhello,1\n")
    spec = DatasetSpec(dataset="csv", train_file=str(train), test_file=str(test))
    train.write_text("text,joy\nonly row,1\n")
    with pytest.raises(DataFormatError, match=r"train\.csv: 1 rows are too few .* 0 dev rows"):
        load_dataset(spec)
    # Whatever the splitter returns, an empty dev split never goes on to calibration.
    import emotag.data.datasets as datasets

    train.write_text("text,joy\n" + "".join(f"row {i},{i % 2}\n" for i in range(5)))
    monkeypatch.setattr(datasets, "stratified_split", lambda s, f, seed: (s, take(s, np.arange(0))))
    with pytest.raises(DataFormatError, match=r"5 rows are too few .* leave 0 dev rows"):
        load_dataset(spec)


def test_an_empty_test_table_is_refused(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("text,joy\n" + "".join(f"row {i},{i % 2}\n" for i in range(40)))
    test = tmp_path / "test.csv"
    test.write_text("text,joy\n")
    spec = DatasetSpec(dataset="csv", train_file=str(train), test_file=str(test))
    with pytest.raises(DataFormatError, match=r"test\.csv: no examples in the test split"):
        load_dataset(spec)


def test_stratified_sample_keeps_the_rare_label_share_and_nests():
    from emotag.data.goemotions import Split
    from emotag.data.splits import stratified_sample

    # Label 0 on rows 0-3 (two of them also label 1), label 1 on rows 2-19: rows 0-3
    # belong to the rare label, so a sample of 10 holds 2 of them, give or take one
    # (a random sample of 10 misses all four 4% of the time, and as often takes all).
    labels = np.zeros((20, 2), np.float32)
    labels[:4, 0] = 1
    labels[2:, 1] = 1
    split = Split([f"t{i}" for i in range(20)], labels, [str(i) for i in range(20)])
    for seed in range(50):
        sample = stratified_sample(split, 10, seed)
        assert len(sample.ids) == 10 and sample.ids == sorted(sample.ids, key=int)
        assert 1 <= sample.labels[:, 0].sum() <= 3
        assert set(stratified_sample(split, 5, seed).ids) < set(sample.ids)  # nested
    assert stratified_sample(split, 10, 3).ids == stratified_sample(split, 10, 3).ids
    assert stratified_sample(split, 10, 3).ids != stratified_sample(split, 10, 4).ids
    assert stratified_sample(split, 20, 0).ids == split.ids
    for size in (0, 21):
        with pytest.raises(ValueError, match=f"cannot sample {size} of 20"):
            stratified_sample(split, size, 0)


def test_train_size_samples_train_only(tiny_data_dir):
    full = load_dataset(DatasetSpec(data_dir=str(tiny_data_dir)))
    counts = full.train.labels.sum(axis=0)
    samples = {
        (size, seed): load_dataset(
            DatasetSpec(data_dir=str(tiny_data_dir), train_size=size, subset_seed=seed)
        )
        for size in (20, 40)
        for seed in (0, 1)
    }
    for (size, _), data in samples.items():
        assert len(data.train.ids) == size and set(data.train.ids) <= set(full.train.ids)
        assert (data.dev.ids, data.test.ids) == (full.dev.ids, full.test.ids)
        # Every label with at least 160 / size training texts keeps one (8 for 20 of 160).
        kept = data.train.labels.sum(axis=0)
        assert (kept[counts >= len(full.train.ids) / size] > 0).all()
    assert set(samples[20, 0].train.ids) < set(samples[40, 0].train.ids)
    assert samples[40, 0].train.ids != samples[40, 1].train.ids
    spec = DatasetSpec(data_dir="here", train_size=20, subset_seed=3).for_evaluation()
    assert (spec.train_size, spec.subset_seed) == (None, 0)


def test_read_lines_streams_and_names_bad_bytes_like_read_text(tmp_path):
    from emotag.data.textfile import DataFormatError, read_lines, read_text

    path = tmp_path / "lines.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\n\nthree")
    assert list(read_lines(path)) == ["one", "two", "", "three"]
    path.write_bytes(b"ok\nab\xffc\n")
    lines = read_lines(path)
    assert next(lines) == "ok"
    expected = f"{path}:2: not valid UTF-8 (byte 0xff at column 3); re-save the file as UTF-8"
    with pytest.raises(DataFormatError) as streamed:
        next(lines)
    with pytest.raises(DataFormatError) as whole:
        read_text(path)
    assert str(streamed.value) == str(whole.value) == expected
