from emotag.evaluation.plots import plot_per_class_f1

REPORT = {
    "macro": {"precision": 0.6, "recall": 0.5, "f1": 0.55},
    "per_class": [
        {"label": "joy", "precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 10},
        {"label": "grief", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
        {"label": "neutral", "precision": 0.7, "recall": 0.6, "f1": 0.65, "support": 30},
    ],
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_writes_png(tmp_path):
    path = tmp_path / "f1.png"
    assert plot_per_class_f1(REPORT, path, title="dev") == path
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_reference_marks_including_unknown_labels(tmp_path):
    path = tmp_path / "f1_ref.png"
    plot_per_class_f1(REPORT, path, reference={"joy": 0.8, "grief": 0.0, "not_a_label": 0.5})
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_learning_curves_png(tmp_path):
    from emotag.evaluation.plots import plot_learning_curves

    curves = {"a": [(3000, 0.5, 0.01), (1000, 0.4, 0.02)], "b": [(1000, 0.3, 0.0)]}
    assert plot_learning_curves(curves, tmp_path / "lc.png", title="t") == tmp_path / "lc.png"
    assert (tmp_path / "lc.png").read_bytes().startswith(PNG_MAGIC)
    plot_learning_curves({}, tmp_path / "empty.png")  # no finished runs yet: an empty frame
    assert (tmp_path / "empty.png").read_bytes().startswith(PNG_MAGIC)
