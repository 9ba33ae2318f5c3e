"""MODEL_CARD.md for a run directory, written from the run's own files.

Reads whatever of `train_config.json`, `run_info.json`, `overall_metrics.json`,
`per_class_report.csv`, `thresholds.json`, `labels.txt`, `embeddings.json` and
`preprocess_config.json` the run has; sections whose file is missing say so instead of
failing, so every training script's runs get a card.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from emotag.runs import layout

log = logging.getLogger(__name__)

CARD_NAME = layout.MODEL_CARD
CITATION = (
    "Dorottya Demszky, Dana Movshovitz-Attias, Jeongwoo Ko, Alan Cowen, Gaurav Nemade and "
    "Sujith Ravi. 2020. *GoEmotions: A Dataset of Fine-Grained Emotions.* Proceedings of "
    "ACL 2020, pages 4040-4054. https://aclanthology.org/2020.acl-main.372"
)
TAXONOMY_TEXT = {
    "fine": "the 27 GoEmotions emotions plus `neutral` (28 labels)",
    "ekman": "Ekman's six basic emotions plus `neutral`, mapped from the 27 fine labels",
    "sentiment": "positive / negative / ambiguous plus `neutral`, mapped from the 27 fine labels",
}
# Failure modes that come from the training data, per dataset (emotag.data.datasets).
DATASET_CAVEATS = {
    "goemotions": [
        "- **Label noise and ambiguity.** Each comment was rated by only a few annotators and "
        "Demszky et al. (2020) report modest inter-annotator agreement for many emotions; "
        "gold labels are themselves uncertain, which caps achievable F1 (their BERT baseline "
        "reaches a macro-F1 of 0.46 on the 28 labels).",
        "- **Domain.** Reddit English of 2005-2019 with names masked as `[NAME]`; other "
        "registers, languages, code-switching and long documents are out of distribution.",
    ],
    "semeval-ec": [
        "- **Label noise and ambiguity.** SemEval-2018 E-c labels come from crowd raters "
        "with modest agreement on several emotions (Mohammad et al., 2018); gold labels are "
        "uncertain, and many tweets have no emotion at all, so an empty prediction is common "
        "and often right.",
        "- **Domain.** English tweets of 2016-2017 (hashtags, mentions, emoji); longer or "
        "more formal text, other languages and later slang are out of distribution.",
    ],
    "csv": [
        "- **Label noise and domain.** The labels and texts are those of the user's table; "
        "this card cannot judge their agreement or coverage. Run `src/audit_labels.py` on "
        "the training file for likely mislabelled rows, and expect texts unlike the "
        "training rows (register, language, length) to be out of distribution.",
    ],
}

# Datasets other than GoEmotions (emotag.data.datasets), as the data section describes them.
DATASET_TEXT = {
    "semeval-ec": "SemEval-2018 Task 1 E-c (Mohammad et al., 2018): English tweets, each "
    "labelled with any of 11 emotions or none",
    "csv": "a labelled table given to `--dataset csv` (see `train_config.json` for its files "
    "and columns)",
}
# Training settings worth a row in the card; the full config is in train_config.json.
KEY_SETTINGS = (
    "taxonomy", "embeddings", "embedding_dim", "pooling", "loss", "epochs", "batch_size",
    "learning_rate", "lstm_units", "attention_units", "dropout", "max_len", "seed", "limit",
)  # fmt: skip
N_RARE = 6  # rarest classes listed under known failure modes


OBJECTIVE_TEXT = {
    "macro": "that label's F1 (macro-F1)",
    "micro": "micro-F1 over all labels (coordinate ascent)",
    "jaccard": "example-based Jaccard accuracy (coordinate ascent)",
}


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "n/a"


def _interval(row: dict) -> str:
    if row.get("f1_low") in (None, ""):
        return ""
    return f"[{float(row['f1_low']):.3f}, {float(row['f1_high']):.3f}]"


def _uncertainty_lines(metrics: dict) -> list[str]:
    """Jaccard, bootstrap intervals, calibration and objective costs, when recorded."""
    out = []
    intervals = metrics.get("intervals")
    if intervals:
        out.append(
            f"95% bootstrap intervals ({intervals['resamples']} resamples of the test "
            f"examples, seed {intervals['seed']}): macro-F1 "
            f"[{intervals['macro_f1'][0]:.4f}, {intervals['macro_f1'][1]:.4f}], micro-F1 "
            f"[{intervals['micro_f1'][0]:.4f}, {intervals['micro_f1'][1]:.4f}], Jaccard "
            f"[{intervals['jaccard'][0]:.4f}, {intervals['jaccard'][1]:.4f}]."
        )
    if "jaccard" in metrics:
        out.append(f"Example-based Jaccard accuracy: {metrics['jaccard']:.4f}.")
    calibration = metrics.get("probability_calibration")
    if calibration:
        out.append(
            f"Probability calibration over all (text, label) cells: ECE "
            f"{calibration['ece']:.4f} ({calibration['bins']} bins), Brier score "
            f"{calibration['brier']:.4f}."
        )
    costs = metrics.get("objectives")
    if costs:
        out += ["", "Test scores of thresholds tuned on dev for each objective:", ""]
        rows = [[k, v["macro"], v["micro"], v["jaccard"]] for k, v in costs.items()]
        out += _table(["tuned for", "macro-F1", "micro-F1", "Jaccard"], rows)
    return [*out, ""] if out else []


def _distillation_lines(info: dict) -> list[str]:
    """What a distilled student learned from (`emotag distill`), if it was distilled."""
    teachers = info.get("teachers")
    if not teachers:
        return []
    transfer = info.get("transfer_set", {})
    names = ", ".join(f"`{t['run_dir']}`" for t in teachers)
    return [
        f"Distilled from the teacher run(s) {names} (probabilities averaged), on the "
        f"{transfer.get('train', '?')} training texts (gold labels and the teacher's "
        f"probabilities) plus a transfer set the teacher alone labelled: "
        f"{transfer.get('augmented', 0)} augmented copies of training texts and "
        f"{transfer.get('unlabeled', 0)} unlabeled texts; dev and test texts were kept out.",
        "",
    ]


def _read_per_class(run: Path) -> list[dict]:
    path = run / layout.PER_CLASS_REPORT
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [
            {"label": r["label"], **{k: float(r[k]) for k in ("precision", "recall", "f1")},
             "support": int(float(r["support"])),
             **{k: float(r[k]) for k in ("f1_low", "f1_high") if r.get(k)}}
            for r in csv.DictReader(f)
        ]  # fmt: skip


def _table(header: list[str], rows: list[list]) -> list[str]:
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _run_name(run: Path) -> str:
    # During training the card is written inside RunWriter's temporary ".<name>.tmp-XXXX"
    # directory, which is renamed to <name> afterwards.
    match = re.fullmatch(r"\.(.+)\.tmp-[^.]+", run.name)
    return match.group(1) if match else run.name


def _script_name(command: str) -> str:
    # Runs recorded before run_info.json had "model" still name their training script.
    scripts = [Path(w).stem for w in command.split() if w.endswith(".py")]
    return scripts[0] if scripts else ""


def render_model_card(run_dir: str | Path) -> str:
    """The Markdown text of a run's model card (see module docstring for the inputs)."""
    # Partial: the card is written before training's last files, and tolerates any gap.
    opened = layout.open_run(run_dir, partial=True)
    run = opened.path
    name = _run_name(run)
    config, info, thresholds = opened.train_config, opened.info, opened.calibration
    metrics = opened.read_json(layout.OVERALL_METRICS)
    embeddings = opened.read_json(layout.EMBEDDINGS)
    preprocess = opened.read_json(layout.PREPROCESS_CONFIG)
    per_class = _read_per_class(run)
    labels = list(opened.label_names)
    taxonomy = config.get("taxonomy", "fine")
    dataset = config.get("dataset", "goemotions")
    trained_on = (
        f"GoEmotions with the `{taxonomy}` taxonomy" if dataset == "goemotions" else f"`{dataset}`"
    )
    model_kind = (
        info.get("model") or _script_name(info.get("command", "")) or opened.kind or "unknown"
    )

    out = [f"# Model card: {name}", ""]
    out += [
        f"Multi-label emotion classifier (`{model_kind}`) for short English texts, trained on "
        f"{trained_on}. Written by `emotag.runs.model_card` from the "
        "files of this run directory; rewrite it with "
        f"`python src/model_card.py --model <this directory>`.",
        "",
    ]
    summary = [["model", model_kind], ["labels", len(labels)]]
    if "test_macro_f1" in info:
        summary.append(["test macro-F1", info["test_macro_f1"]])
        summary.append(["test micro-F1", info["test_micro_f1"]])
    for key, title in [("epochs_run", "epochs run"), ("best_epoch", "best epoch"),
                       ("stop_reason", "why training stopped"),
                      ("wall_time_s", "training time (s)"), ("peak_rss_mb", "peak memory (MB)"),
                      ("tensorflow", "TensorFlow"), ("keras", "Keras")]:  # fmt: skip
        if key in info:
            summary.append([title, str(info[key])])
    out += _table(["", ""], summary)

    out += ["## Data and taxonomy", ""]
    out += [
        "GoEmotions (Demszky et al., 2020): about 58k English Reddit comments, each labelled "
        "by several crowd raters with any number of emotions. Splits are the official "
        "train / dev / test. Labels here: " + TAXONOMY_TEXT.get(taxonomy, f"`{taxonomy}`") + ".",
        "",
    ]
    if dataset != "goemotions":
        out[-2] = (
            DATASET_TEXT.get(dataset, f"`{dataset}`") + "; without a dev file, dev is a "
            f"stratified {config.get('dev_fraction', 0.1):.0%} of train."
        )
    if config.get("exclude_ids"):
        out += [f"Training rows whose ids are in `{config['exclude_ids']}` were left out "
                "(`--exclude-ids`).", ""]  # fmt: skip
    if config.get("extra_train"):
        out += [f"Rows of `{config['extra_train']}` were added to train only "
                "(`--extra-train`).", ""]  # fmt: skip
    if config.get("limit"):
        out += [f"Only the first {config['limit']} training examples were used (`--limit`).", ""]
    if config.get("train_size"):
        out += [f"Trained on a stratified sample of {config['train_size']} training examples "
                f"(seed {config.get('subset_seed', 0)}, `--train-size`).", ""]  # fmt: skip
    if labels:
        out += ["Labels, in output order: " + ", ".join(f"`{n}`" for n in labels) + ".", ""]

    out += ["## Training", ""]
    if info.get("command"):
        out += ["```bash", info["command"], "```", ""]
    rows = [[k, str(config[k])] for k in KEY_SETTINGS if config.get(k) is not None]
    if rows:
        out += _table(["setting", "value"], rows)
    if embeddings:
        cover = embeddings.get("vocab_coverage")
        cover_text = f", vocabulary coverage {cover:.1%}" if isinstance(cover, float) else ""
        out += [
            f"Embeddings: `{embeddings.get('source', '?')}`, dimension "
            f"{embeddings.get('dim', '?')}{cover_text}.",
            "",
        ]
    out += _distillation_lines(info)
    out += ["Full configuration: `train_config.json`; timing and versions: `run_info.json`.", ""]

    out += ["## Test metrics", ""]
    if metrics:
        out += [
            f"{metrics.get('num_examples', '?')} test examples, scored once with the "
            "thresholds chosen on dev.",
            "",
        ]
        rows = [
            [avg, metrics[avg]["precision"], metrics[avg]["recall"], metrics[avg]["f1"]]
            for avg in ("macro", "micro", "weighted", "samples")
            if avg in metrics
        ]
        out += _table(["average", "precision", "recall", "F1"], rows)
        out += _uncertainty_lines(metrics)
    else:
        out += ["No `overall_metrics.json` in this run.", ""]
    per_threshold = thresholds.get("per_class_thresholds", {})
    if per_class:
        out += ["Per class (test), with the decision threshold of each class:", ""]
        rows = [
            [r["label"], r["precision"], r["recall"], r["f1"], _interval(r), r["support"],
             per_threshold.get(r["label"], "")]
            for r in per_class
        ]  # fmt: skip
        out += _table(
            ["label", "precision", "recall", "F1", "F1 95% interval", "support", "threshold"], rows
        )
    if (run / layout.PER_CLASS_F1_PLOT).is_file():
        out += ["![Per-class test F1](per_class_f1.png)", ""]
    if (run / layout.RELIABILITY_PLOT).is_file():
        out += [f"![Reliability diagram]({layout.RELIABILITY_PLOT})", ""]

    out += ["## Thresholds", ""]
    if thresholds:
        dev = thresholds.get("dev_macro_f1", {})
        objective = thresholds.get("objective", "macro")
        out += [
            "A label is predicted when its probability is at least its own threshold, tuned "
            f"on the dev split to maximise {OBJECTIVE_TEXT.get(objective, objective)} "
            "(`thresholds.json`, exact values in `per_class_thresholds.npy`; the SavedModel "
            "applies them in its `labels` output).",
            "",
            f"- threshold objective: `{objective}` (dev value "
            f"{_fmt(thresholds.get('objective_dev_score'))})",
            f"- temperature applied to the logits: {thresholds.get('temperature', 1.0):g}",
            f"- best single global threshold on dev: {thresholds.get('global_threshold')}",
            f"- at-least-one rule (argmax label when none passes): "
            f"{'on' if thresholds.get('at_least_one') else 'off'}",
        ]
        out += [f"- dev macro-F1 with `{k}`: {v:.3f}" for k, v in dev.items()]
        fallback = thresholds.get("fallback_classes") or []
        if fallback:
            out.append(f"- no dev positives, threshold left at 0.5: {', '.join(fallback)}")
        out.append("")
    else:
        out += ["No `thresholds.json` in this run.", ""]

    out += ["## Intended use", ""]
    out += [
        "Research and demos: tagging English social-media comments, aggregating emotion "
        "counts over many texts, exploring the "
        + ("GoEmotions taxonomy" if dataset == "goemotions" else "label set it was trained on")
        + ". Predictions are "
        "probabilistic and often wrong on single texts: do not use them to make decisions "
        "about individual people (moderation, hiring, health, credit), and do not read them "
        "as what the author actually felt.",
        "",
    ]

    out += ["## Known failure modes", ""]
    if per_class:
        rare = sorted(per_class, key=lambda r: (r["support"], r["label"]))[:N_RARE]
        out += [
            "- **Rare classes.** The labels with the fewest test examples have the least "
            "reliable F1 (few training examples, and a threshold tuned on few dev positives):",
            "",
        ]
        rows = [[r["label"], r["support"], r["f1"]] for r in rare]
        out += ["  " + line for line in _table(["label", "test support", "test F1"], rows)]
    out += [
        "- **Sarcasm, irony and quoting.** Word-level cues dominate: \"great, another "
        "Monday\" can read as admiration or joy, and a quoted insult as anger.",
    ]
    out += DATASET_CAVEATS.get(dataset, DATASET_CAVEATS["csv"])
    if preprocess.get("max_len"):
        out.append(
            f"- **Length.** Texts are cut to {preprocess['max_len']} tokens; anything after "
            "that is ignored."
        )
    if "neutral" in labels:
        out.append(
            "- **Neutral.** `neutral` is a label like the others, so it can co-occur with "
            "emotions; an empty prediction means no label passed its threshold."
        )
    out.append("")

    out += ["## How to load", ""]
    out += [
        "Plain TensorFlow, no project code needed (the SavedModel takes raw strings):",
        "",
        "```python",
        "import tensorflow as tf",
        "",
        f'model = tf.saved_model.load("path/to/{name}/saved_model")',
        'out = model.signatures["serving_default"](text=tf.constant(["Thank you so much!"]))',
        "names = [n.decode() for n in model.label_names().numpy()]",
        'probs = out["probabilities"].numpy()[0]  # (labels,) float32',
        'chosen = out["labels"].numpy()[0]  # (labels,) 0/1 with the calibrated thresholds',
        "print([n for n, on in zip(names, chosen) if on])",
        "```",
        "",
        "With this project: `emotag.serving.predictor.Predictor.load(run_dir).predict([...])`, or "
        "`python src/inference.py --model <run> \"text\"`.",
        "",
        "## Citation",
        "",
        CITATION,
        "",
    ]
    return "\n".join(out)


def write_model_card(run_dir: str | Path, strict: bool = True) -> Path | None:
    """Writes `MODEL_CARD.md` into the run directory.

    Args:
        run_dir: the run directory.
        strict: if False, a failure is logged and None returned instead of raised, so
            the card can never cost a finished training run (the end of every
            training script calls this through `emotag.evaluation.scoring.write_run_info`).

    Returns:
        The card's path, or None after a logged failure.
    """
    path = Path(run_dir) / CARD_NAME
    try:
        path.write_text(render_model_card(run_dir), encoding="utf-8")
    except Exception:
        if strict:
            raise
        log.exception("could not write %s; rerun src/model_card.py for this run", path)
        return None
    log.info("model card written to %s", path)
    return path
