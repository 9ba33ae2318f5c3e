"""Distillation: the soft-target loss, the transfer set, the teacher cache, a student run."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import cross_fit_copy
from emotag.distill.teacher import label_texts, teacher_identity, texts_digest
from emotag.distill.transfer import (
    MASK,
    AugmentRates,
    Deduplicator,
    augment_text,
    augmented_copies,
    read_unlabeled,
)
from emotag.models.losses import ClassBalancedFocalLoss, DistillationLoss

GOLD = np.array([[1.0, 0.0], [0.0, 0.0]], "float32")
TEACHER = np.array([[0.8, 0.3], [0.1, 0.9]], "float32")
STUDENT = np.array([[0.7, 0.2], [0.4, 0.6]], "float32")
HAS_GOLD = np.array([[1.0], [0.0]], "float32")  # row 2 is a transfer-set text
Y = np.concatenate([GOLD, TEACHER, HAS_GOLD], axis=1)


def bce(target, p):
    return -(target * np.log(p) + (1 - target) * np.log(1 - p))


def test_distillation_loss_by_hand():
    loss = DistillationLoss(keras.losses.BinaryCrossentropy(), soft_weight=0.25)
    row1 = 0.75 * bce(GOLD[0], STUDENT[0]).mean() + 0.25 * bce(TEACHER[0], STUDENT[0]).mean()
    row2 = 0.25 * bce(TEACHER[1], STUDENT[1]).mean()  # no gold term without gold labels
    assert float(loss(Y, STUDENT)) == pytest.approx((row1 + row2) / 2, rel=1e-5)


def test_distillation_loss_temperature_and_mse_by_hand():
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hot = DistillationLoss(soft_weight=1.0, temperature=2.0)  # soft term only
    expected = [
        4 * bce(sigmoid(logit(TEACHER[i]) / 2), sigmoid(logit(STUDENT[i]) / 2)).mean()
        for i in range(2)
    ]
    assert float(hot(Y, STUDENT)) == pytest.approx(np.mean(expected), rel=1e-5)
    mse = DistillationLoss(soft_weight=1.0, soft_loss="mse")
    expected = [np.mean((logit(STUDENT[i]) - logit(TEACHER[i])) ** 2) for i in range(2)]
    assert float(mse(Y, STUDENT)) == pytest.approx(np.mean(expected), rel=1e-5)


def test_distillation_loss_class_weights_scale_each_soft_class_by_hand():
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    weights = np.array([2.0, 0.5])
    bce_loss = DistillationLoss(soft_weight=1.0, class_weights=[2.0, 0.5])
    expected = [(weights * bce(TEACHER[i], STUDENT[i])).mean() for i in range(2)]
    assert float(bce_loss(Y, STUDENT)) == pytest.approx(np.mean(expected), rel=1e-5)
    mse_loss = DistillationLoss(soft_weight=1.0, soft_loss="mse", class_weights=[2.0, 0.5])
    expected = [(weights * (logit(STUDENT[i]) - logit(TEACHER[i])) ** 2).mean() for i in range(2)]
    assert float(mse_loss(Y, STUDENT)) == pytest.approx(np.mean(expected), rel=1e-5)
    # The gold term is untouched: with soft_weight 0 the weights change nothing.
    gold_only = DistillationLoss(soft_weight=0.0, class_weights=[2.0, 0.5])
    assert float(gold_only(Y, STUDENT)) == pytest.approx(
        float(DistillationLoss(soft_weight=0.0)(Y, STUDENT)), rel=1e-6
    )


def test_distillation_loss_gold_only_equals_the_gold_loss_on_labelled_rows():
    gold_loss = ClassBalancedFocalLoss(class_weights=[2.0, 0.5], gamma=0.0)
    loss = DistillationLoss(gold_loss, soft_weight=0.0)
    per_row = gold_loss.call(GOLD, STUDENT).numpy() * HAS_GOLD[:, 0]
    assert float(loss(Y, STUDENT)) == pytest.approx(per_row.mean(), rel=1e-5)


def test_distillation_loss_round_trips_config_and_keras_file(tmp_path):
    loss = DistillationLoss(
        ClassBalancedFocalLoss(class_weights=[2.0, 0.5], gamma=1.0), soft_weight=0.3,
        temperature=1.5, soft_loss="mse", class_weights=[1.5, 0.5],
    )  # fmt: skip
    again = DistillationLoss.from_config(loss.get_config())
    assert float(again(Y, STUDENT)) == pytest.approx(float(loss(Y, STUDENT)))
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="sigmoid")(inputs))
    model.compile(optimizer="adam", loss=loss)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.loss, DistillationLoss)
    assert loaded.loss.get_config() == loss.get_config()


@pytest.mark.parametrize(
    "kwargs", [{"soft_weight": 1.5}, {"temperature": 0.0}, {"soft_loss": "kl"}]
)
def test_distillation_loss_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        DistillationLoss(**kwargs)


# --- the transfer set -------------------------------------------------------------------

NEIGHBOURS = {"happy": ["glad"], "movie": ["film", "show"]}.get


def neighbours(word):
    return NEIGHBOURS(word, [])


def test_augmentation_is_deterministic_for_a_seed():
    texts = ["I am so happy about this movie", "what a sad day it was for us all"]
    rates = AugmentRates(p_mask=0.3, p_sub=0.3, p_ng=0.5)
    first = list(augmented_copies(texts, 3, seed=7, rates=rates, neighbours=neighbours))
    again = list(augmented_copies(texts, 3, seed=7, rates=rates, neighbours=neighbours))
    other = list(augmented_copies(texts, 3, seed=8, rates=rates, neighbours=neighbours))
    assert first == again and len(first) == 6
    assert first != other


def test_augmentation_rules():
    rng = np.random.default_rng(0)
    text = "I am so happy about this movie"
    masked = augment_text(text, rng, AugmentRates(p_mask=1.0, p_sub=0.0, p_ng=0.0), neighbours)
    assert masked == " ".join([MASK] * 7)
    swapped = augment_text(text, rng, AugmentRates(p_mask=0.0, p_sub=1.0, p_ng=0.0), neighbours)
    words = swapped.split()
    assert words[3] == "glad" and words[6] in ("film", "show") and words[:3] == ["I", "am", "so"]
    for _ in range(20):  # always an n-gram: 1-5 contiguous words of the text
        gram = augment_text(text, rng, AugmentRates(0.0, 0.0, p_ng=1.0), neighbours)
        assert 1 <= len(gram.split()) <= 5 and gram in text
    with pytest.raises(ValueError):
        AugmentRates(p_mask=0.7, p_sub=0.7)


def simple_keys(texts):
    return [" ".join(t.lower().replace("!", " ").split()) for t in texts]


def test_no_dev_or_test_text_enters_the_transfer_set():
    dedup = Deduplicator(simple_keys, held_out=["So happy today", "what a day"],
                         seen=["I love it"])  # fmt: skip
    kept = dedup.filter(
        ["so HAPPY today!", "a new text", "i love it", "a new text", "What  a day", "  ", "new"]
    )
    assert kept == ["a new text", "new"]
    assert dedup.dropped == {"held_out": 2, "repeat": 2, "empty": 1}
    limited = Deduplicator(simple_keys, held_out=[]).filter(["a", "b", "c"], limit=2, chunk=1)
    assert limited == ["a", "b"]


def test_read_unlabeled_streams_lines_and_names_bad_bytes(tmp_path):
    path = tmp_path / "u.txt"
    path.write_bytes(b"\xef\xbb\xbffirst line\n\n  second  \n")
    assert list(read_unlabeled(path)) == ["first line", "second"]
    path.write_bytes(b"ok\nbad \xff byte\n")
    lines = read_unlabeled(path)
    assert next(lines) == "ok"
    with pytest.raises(ValueError, match=r"u.txt:2: not valid UTF-8"):
        next(lines)
    with pytest.raises(FileNotFoundError):
        list(read_unlabeled(tmp_path / "missing.txt"))


# --- the teacher cache ------------------------------------------------------------------


def test_teacher_labels_are_cached_and_reused(tiny_run_dir, tmp_path, monkeypatch):
    from emotag.serving.predictor import Predictor

    texts = ["I love this", "this is awful", "what?"]
    first = label_texts(tiny_run_dir, texts, tmp_path)
    expected = Predictor.load(tiny_run_dir).predict_proba(texts)
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-6)
    assert len(list((tmp_path / "teacher-labels").glob("*.npy"))) == 1

    def no_model(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(Predictor, "load", no_model)
    np.testing.assert_array_equal(label_texts(tiny_run_dir, texts, tmp_path), first)
    with pytest.raises(AssertionError, match="cache"):  # other texts: labelled anew
        label_texts(tiny_run_dir, texts[:2], tmp_path)
    assert texts_digest(texts) != texts_digest(texts[:2])
    assert texts_digest(["ab", "c"]) != texts_digest(["a", "bc"])


def test_a_changed_teacher_misses_the_cache(tiny_run_dir, tmp_path):
    import shutil

    copy = tmp_path / "moved-teacher"
    shutil.copytree(tiny_run_dir, copy)
    assert teacher_identity(copy) == teacher_identity(tiny_run_dir)  # path does not matter
    index = copy / "saved_model" / "variables" / "variables.index"
    index.write_bytes(index.read_bytes() + b"\0")  # what retraining changes
    assert teacher_identity(copy) != teacher_identity(tiny_run_dir)


# --- a student, end to end --------------------------------------------------------------


def test_tiny_teacher_to_student_end_to_end(tiny_run_dir, tiny_data_dir, tmp_path):
    from conftest import serve_in_fresh_process
    from emotag.data.goemotions import load_goemotions
    from emotag.distill.student import DistillConfig, distill
    from emotag.serving.predictor import Predictor

    data = load_goemotions(str(tiny_data_dir))
    unlabeled = tmp_path / "unlabeled.txt"
    unlabeled.write_text(
        "a brand new line about nothing\n"
        + data.dev.texts[0].upper() + "\n"  # a dev text, differently cased: kept out
        + data.test.texts[1] + "\n"
        + "another fresh line\n"
    )  # fmt: skip
    config = DistillConfig(
        teacher=[str(tiny_run_dir)], data_dir=str(tiny_data_dir), embeddings="random",
        embedding_dim=8, lstm_units=4, attention_units=4, batch_size=16, min_count=1,
        epochs=2, augment_multiple=1, unlabeled=str(unlabeled), soft_weight=0.7,
        soft_class_beta=0.99, head_units=3, threshold_gold_weight=0.5,
        output_dir=str(tmp_path / "runs"), cache_dir=str(tmp_path / "cache"), verbose=0,
    )  # fmt: skip
    run = distill(config)
    assert run.name == "student-fine-u4-s42"
    info = json.loads((run / "run_info.json").read_text())
    transfer = info["transfer_set"]
    assert transfer["train"] == len(data.train.texts)
    assert transfer["unlabeled"] == 2 and transfer["dropped"]["held_out"] >= 2
    assert 0 < transfer["augmented"] <= len(data.train.texts)
    assert info["teachers"][0]["identity"] == teacher_identity(tiny_run_dir)[:20]
    assert info["epochs_run"] <= 2 and "stop_reason" in info
    assert str(tiny_run_dir.resolve()) in (run / "MODEL_CARD.md").read_text()
    saved = json.loads((run / "train_config.json").read_text())
    assert saved["teacher"] == [str(tiny_run_dir)] and saved["soft_weight"] == 0.7
    # --soft-class-beta at the gold loss's beta: the soft term carries the same weights.
    student = keras.models.load_model(run / "model.keras")
    assert student.get_layer("head").units == 3  # --head-units: served below too
    loss = student.loss
    labels = (run / "labels.txt").read_text().splitlines()
    assert loss.class_weights == loss.gold_loss.class_weights
    assert len(loss.class_weights) == len(labels) and len(set(loss.class_weights)) > 1
    # Three cache entries (train, transfer, and dev for the thresholds) that a second
    # student would reuse.
    assert len(list((tmp_path / "cache" / "teacher-labels").glob("*.npy"))) == 3
    # The thresholds heed the teacher: tuned against 0.5 x labels + 0.5 x its dev probs.
    thresholds = json.loads((run / "thresholds.json").read_text())
    assert thresholds["threshold_gold_weight"] == 0.5 == saved["threshold_gold_weight"]
    assert thresholds["threshold_soft_labels"] == "teacher"
    assert "0.5 x the dev labels + 0.5 x the teacher's dev probabilities" in (
        run / "MODEL_CARD.md"
    ).read_text()

    texts = ["I love this so much", "this is awful"]
    served = serve_in_fresh_process(run / "saved_model", texts)
    expected = Predictor.load(run).predict_proba(texts)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-5, atol=1e-6)


def test_distill_refuses_bad_settings_before_training(tiny_run_dir, tmp_path):
    from emotag.distill.student import DistillConfig, check_config

    good = dict(teacher=[str(tiny_run_dir)], output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="soft-weight"):
        check_config(DistillConfig(**good, soft_weight=2.0))
    with pytest.raises(ValueError, match="soft-class-beta"):
        check_config(DistillConfig(**good, soft_class_beta=1.0))
    with pytest.raises(ValueError, match="threshold-gold-weight must be in"):
        check_config(DistillConfig(**good, threshold_gold_weight=1.5))
    with pytest.raises(FileNotFoundError, match="unlabeled"):
        check_config(DistillConfig(**good, unlabeled=str(tmp_path / "none.txt")))
    blank = tmp_path / "blank.txt"
    blank.write_text("\n   \n\t\n")
    with pytest.raises(ValueError, match="blank.txt: every line is blank"):
        check_config(DistillConfig(**good, unlabeled=str(blank)))
    with pytest.raises(ValueError, match="unlabeled-limit must be >= 1, got 0"):
        check_config(DistillConfig(**good, unlabeled=str(blank), unlabeled_limit=0))
    with pytest.raises(ValueError, match="unlabeled-limit needs an --unlabeled file"):
        check_config(DistillConfig(**good, unlabeled_limit=10))
    with pytest.raises(Exception, match="not a run|run directory|No such"):
        check_config(DistillConfig(teacher=[str(tmp_path)], output_dir=str(tmp_path)))


def test_an_unlabeled_file_with_no_new_text_is_refused(tiny_run_dir, tiny_data_dir, tmp_path):
    from emotag.data.goemotions import load_goemotions
    from emotag.distill.student import DistillConfig, build_transfer_set
    from emotag.training import bilstm

    data = load_goemotions(str(tiny_data_dir))
    stale = tmp_path / "stale.txt"
    stale.write_text(f"{data.dev.texts[0]}\n{data.test.texts[0].upper()}\n{data.train.texts[0]}\n")
    config = DistillConfig(
        teacher=[str(tiny_run_dir)], data_dir=str(tiny_data_dir), embeddings="random",
        embedding_dim=8, min_count=1, augment_multiple=1, unlabeled=str(stale),
        output_dir=str(tmp_path / "runs"), cache_dir=str(tmp_path / "cache"), verbose=0,
    )  # fmt: skip
    prepared = bilstm.prepare(config)
    refused = r"stale.txt: no line is new text.*'held_out': 2, 'repeat': 1"
    with pytest.raises(ValueError, match=refused):
        build_transfer_set(config, prepared)
    fresh = tmp_path / "fresh.txt"
    fresh.write_text(f"{data.dev.texts[0]}\na line nobody wrote before\n")
    config.unlabeled = str(fresh)
    texts, counts = build_transfer_set(config, prepared)
    assert texts[-1] == "a line nobody wrote before" and counts["unlabeled"] == 1


def test_a_teacher_of_another_label_set_is_refused_before_word_vectors(
    tiny_run_dir, tiny_data_dir, tmp_path, monkeypatch
):
    from emotag.distill.student import DistillConfig, prepare_student
    from emotag.training import bilstm

    def no_vectors(*args, **kwargs):
        raise AssertionError("word vectors were built before the label sets were compared")

    monkeypatch.setattr(bilstm, "build_vocabulary", no_vectors)
    data_dir = shutil.copytree(tiny_data_dir, tmp_path / "data")
    fine = [n for n in (data_dir / "emotions.txt").read_text().split() if n != "neutral"]
    (data_dir / "ekman_mapping.json").write_text(json.dumps({"a": fine[:9], "b": fine[9:]}))
    config = DistillConfig(
        teacher=[str(tiny_run_dir)], data_dir=str(data_dir), taxonomy="ekman",
        embeddings="random", output_dir=str(tmp_path), cache_dir=str(tmp_path), verbose=0,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"teacher .*tiny.* predicts .*admiration.*share the"):
        prepare_student(config)


# --- cross-fit teachers: out-of-fold soft targets on the training texts ------------------


def fake_label_texts(values, n_labels, calls):
    """label_texts that answers a constant per run (by directory name) and logs its texts."""

    def label(run_dir, texts, cache_dir, what="texts", batch_size=256):
        calls.append((Path(run_dir).name, list(texts)))
        return np.full((len(texts), n_labels), values[Path(run_dir).name], dtype="float32")

    return label


def test_cross_fit_teachers_label_only_the_texts_they_never_saw(tiny_run_dir, tmp_path,
                                                                monkeypatch):  # fmt: skip
    from emotag.distill import teacher
    from emotag.runs import layout

    names = layout.open_run(tiny_run_dir).label_names
    a = cross_fit_copy(tiny_run_dir, tmp_path / "A", ["x1", "x2"])
    b = cross_fit_copy(tiny_run_dir, tmp_path / "B", ["x2", "x3", "not-in-train"])
    assert teacher.held_out_ids(a) == {"x1", "x2"}
    ids, texts = ["x1", "x2", "x3", "x4"], ["t1", "t2", "t3", "t4"]

    # The real path: A's rows are its SavedModel's probabilities on the texts it left out.
    from emotag.serving.predictor import Predictor

    probs, votes = teacher.cross_fitted_probabilities([a], ids, texts, tmp_path / "c", names)
    np.testing.assert_allclose(probs[:2], Predictor.load(a).predict_proba(["t1", "t2"]),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    assert votes.tolist() == [1, 1, 0, 0] and not probs[2:].any()

    # Several runs: a row's mean over the runs that left it out, by hand.
    calls = []
    fake = fake_label_texts({"A": 0.2, "B": 0.6}, len(names), calls)
    monkeypatch.setattr(teacher, "label_texts", fake)
    probs, votes = teacher.cross_fitted_probabilities([a, b], ids, texts, tmp_path, names)
    np.testing.assert_allclose(probs[:, 0], [0.2, 0.4, 0.6, 0.0], rtol=1e-6)
    assert votes.tolist() == [1, 2, 1, 0]
    assert [c[1] for c in calls] == [["t1", "t2"], ["t2", "t3"]]  # only what each never saw
    with pytest.raises(ValueError, match="none of these 2 training texts"):
        teacher.cross_fitted_probabilities([a], ["x3", "x4"], ["t3", "t4"], tmp_path, names)
    with pytest.raises(ValueError, match="label set"):
        teacher.cross_fitted_probabilities([a], ids, texts, tmp_path, ["x", "z"])


def test_held_out_ids_of_plain_and_ensemble_runs(tiny_run_dir, tmp_path):
    from emotag.distill import teacher

    with pytest.raises(ValueError, match="every training text"):
        teacher.held_out_ids(tiny_run_dir)
    a = cross_fit_copy(tiny_run_dir, tmp_path / "A", ["x1", "x2"])
    a2 = cross_fit_copy(tiny_run_dir, tmp_path / "A2", ["x2", "x1"])
    b = cross_fit_copy(tiny_run_dir, tmp_path / "B", ["x3"])

    def ensemble(where, members):
        import shutil

        shutil.copytree(tiny_run_dir, where)
        info = json.loads((where / "run_info.json").read_text())
        info["members"] = [{"run_dir": str(m)} for m in members]
        (where / "run_info.json").write_text(json.dumps(info))
        return where

    assert teacher.held_out_ids(ensemble(tmp_path / "ens", [a, a2])) == {"x1", "x2"}
    with pytest.raises(ValueError, match="different training ids"):
        teacher.held_out_ids(ensemble(tmp_path / "ens-mixed", [a, b]))
    (tmp_path / "A-held.txt").unlink()
    with pytest.raises(FileNotFoundError, match="A-held.txt"):
        teacher.held_out_ids(a)


def test_a_run_keeps_the_ids_it_left_out_wherever_the_list_goes(tiny_data_dir, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    from emotag.distill import teacher
    from emotag.training.bilstm import TrainConfig, train

    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    Path("held.txt").write_text("# fold A\ntrain3\ntrain1\n\nnot-in-train\n")
    run_dir = train(TrainConfig(
        data_dir=str(tiny_data_dir), embeddings="random", embedding_dim=8, epochs=1,
        lstm_units=4, attention_units=4, batch_size=32, min_count=1, verbose=0,
        output_dir=str(tmp_path / "runs"), run_name="fold-a", exclude_ids="held.txt",
    ))  # fmt: skip
    assert (run_dir / "excluded_ids.txt").read_text() == "not-in-train\ntrain1\ntrain3\n"
    assert json.loads((run_dir / "train_config.json").read_text())["exclude_ids"] == "held.txt"
    assert "the run keeps the ids in `excluded_ids.txt`" in (run_dir / "MODEL_CARD.md").read_text()
    Path("held.txt").unlink()  # the list is gone, and the run is read from elsewhere
    monkeypatch.chdir(tmp_path)
    assert teacher.held_out_ids(run_dir) == {"train1", "train3", "not-in-train"}


def test_a_run_records_the_ids_it_read_not_the_file_edited_later(tiny_data_dir, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    from emotag.training import bilstm

    held = tmp_path / "held.txt"
    held.write_text("train1\n")
    load = bilstm.load_dataset

    def load_then_edit(spec):
        data = load(spec)
        held.write_text("train2\n")  # edited while the run trains
        return data

    monkeypatch.setattr(bilstm, "load_dataset", load_then_edit)
    run_dir = bilstm.train(bilstm.TrainConfig(
        data_dir=str(tiny_data_dir), embeddings="random", embedding_dim=8, epochs=1,
        lstm_units=4, attention_units=4, batch_size=32, min_count=1, verbose=0,
        output_dir=str(tmp_path / "runs"), run_name="fold", exclude_ids=str(held),
    ))  # fmt: skip
    assert held.read_text() == "train2\n"
    assert (run_dir / "excluded_ids.txt").read_text() == "train1\n"


def test_write_run_info_needs_the_excluded_ids_of_a_run_that_left_some_out(tmp_path):
    import time

    from emotag.runs.info import write_run_info

    report = {"macro": {"f1": 0.5, "precision": 0.5, "recall": 0.5}, "micro": {"f1": 0.5}}
    (tmp_path / "r").mkdir()
    with pytest.raises(ValueError, match="excluded_ids"):
        write_run_info(tmp_path / "r", {"exclude_ids": "held.txt"}, time.time(), report,
                       kind="bilstm")  # fmt: skip


def test_student_soft_targets_out_of_fold_then_from_the_teacher(tiny_run_dir, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    from emotag.data.goemotions import Split
    from emotag.distill import teacher
    from emotag.distill.student import DistillConfig, check_config, train_soft_targets
    from emotag.runs import layout
    from emotag.runs.card_sections import _distillation_lines

    a = cross_fit_copy(tiny_run_dir, tmp_path / "A", ["x1", "x2"])
    names = layout.open_run(tiny_run_dir).label_names
    calls = []
    fake = fake_label_texts({"A": 0.2, tiny_run_dir.name: 0.9}, len(names), calls)
    monkeypatch.setattr(teacher, "label_texts", fake)
    train = Split(texts=["t1", "t2", "t3", "t4"], labels=np.zeros((4, len(names))),
                  ids=["x1", "x2", "x3", "x4"])  # fmt: skip
    config = DistillConfig(teacher=[str(tiny_run_dir)], cross_fit_teacher=[str(a)],
                           output_dir=str(tmp_path), cache_dir=str(tmp_path))  # fmt: skip
    soft, info = train_soft_targets(config, train, names)
    np.testing.assert_allclose(soft[:, 1], [0.2, 0.2, 0.9, 0.9], rtol=1e-6)
    assert [c[1] for c in calls] == [["t1", "t2"], ["t3", "t4"]]  # the teacher: only the rest
    assert info["train_out_of_fold"] == 2
    assert info["cross_fit_teachers"][0]["run_dir"] == str(a.resolve())
    card = " ".join(_distillation_lines({"teachers": [{"run_dir": "T"}], **info}))
    assert "The soft targets of 2 training texts came out of fold" in card
    assert str(a.resolve()) in card

    plain, plain_info = train_soft_targets(
        DistillConfig(teacher=[str(tiny_run_dir)], output_dir=str(tmp_path)), train, names
    )
    assert plain_info == {} and np.allclose(plain, 0.9)
    with pytest.raises(ValueError, match="every training text"):  # refused before training
        check_config(DistillConfig(teacher=[str(tiny_run_dir)], output_dir=str(tmp_path),
                                   cross_fit_teacher=[str(tiny_run_dir)]))  # fmt: skip
