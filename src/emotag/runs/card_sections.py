"""The sections of a model card, each rendered from a run's files (`CardInputs`).

`emotag.runs.model_card` reads a run directory and joins these; the fixed prose is in
`emotag.runs.card_text`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emotag.runs import layout
from emotag.runs.card_text import DATASET_CAVEATS, DATASET_TEXT, OBJECTIVE_TEXT, TAXONOMY_TEXT

KEY_SETTINGS = (
    "taxonomy", "embeddings", "embedding_dim", "pooling", "loss", "epochs", "batch_size",
    "learning_rate", "lr_drop", "lstm_units", "attention_units", "head_units", "dropout", "max_len",
    "seed", "limit",
)  # fmt: skip
N_RARE = 6  # rarest classes listed under known failure modes


@dataclasses.dataclass
class CardInputs:
    """What a card is written from: one run directory's files (any may be missing)."""

    path: Path
    name: str
    config: dict
    info: dict
    thresholds: dict
    metrics: dict
    embeddings: dict
    preprocess: dict
    per_class: list[dict]
    labels: list[str]
    kind: str | None  # the run kind layout recognised (bilstm, bert, ...)

    @property
    def dataset(self) -> str:
        return self.config.get("dataset", "goemotions")

    @property
    def taxonomy(self) -> str:
        return self.config.get("taxonomy", "fine")


def summary(run: CardInputs, model_kind: str) -> list[str]:
    """The opening paragraph and the run's key figures."""
    trained_on = (
        f"GoEmotions with the `{run.taxonomy}` taxonomy"
        if run.dataset == "goemotions" else f"`{run.dataset}`"
    )  # fmt: skip
    out = [
        f"Multi-label emotion classifier (`{model_kind}`) for short English texts, trained on "
        f"{trained_on}. Written by `emotag.runs.model_card` from the "
        "files of this run directory; rewrite it with "
        f"`python src/model_card.py --model <this directory>`.",
        "",
    ]
    info = run.info
    rows = [["model", model_kind], ["labels", len(run.labels)]]
    if "test_macro_f1" in info:
        rows.append(["test macro-F1", info["test_macro_f1"]])
        rows.append(["test micro-F1", info["test_micro_f1"]])
    for key, title in [("epochs_run", "epochs run"), ("best_epoch", "best epoch"),
                       ("stop_reason", "why training stopped"),
                      ("wall_time_s", "wall time (s)"),
                      ("prepare_time_s", "of which data, vectors, teacher labels (s)"),
                      ("fit_time_s", "of which training (s)"), ("peak_rss_mb", "peak memory (MB)"),
                      ("emotag", "emotag"), ("tensorflow", "TensorFlow"),
                      ("keras", "Keras"), ("machine", "trained on")]:  # fmt: skip
        if key in info:
            rows.append([title, str(info[key])])
    return out + _table(["", ""], rows)


def data_section(run: CardInputs) -> list[str]:
    """The dataset, how train was cut or edited, and the labels in output order."""
    config = run.config
    if run.dataset == "goemotions":
        out = [
            "GoEmotions (Demszky et al., 2020): about 58k English Reddit comments, each "
            "labelled by several crowd raters with any number of emotions. Splits are the "
            "official train / dev / test. Labels here: "
            + TAXONOMY_TEXT.get(run.taxonomy, f"`{run.taxonomy}`") + ".",
            "",
        ]  # fmt: skip
    else:
        out = [
            DATASET_TEXT.get(run.dataset, f"`{run.dataset}`") + "; without a dev file, dev "
            f"is a stratified {config.get('dev_fraction', 0.1):.0%} of train.",
            "",
        ]
    if config.get("exclude_ids"):
        kept = (run.path / layout.EXCLUDED_IDS).is_file()
        copy = f"; the run keeps the ids in `{layout.EXCLUDED_IDS}`" if kept else ""
        out += [f"Training rows whose ids are in `{config['exclude_ids']}` were left out "
                f"(`--exclude-ids`{copy}).", ""]  # fmt: skip
    if config.get("extra_train"):
        out += [f"Rows of `{config['extra_train']}` were added to train only "
                "(`--extra-train`).", ""]  # fmt: skip
    if config.get("limit"):
        out += [f"Only the first {config['limit']} training examples were used (`--limit`).", ""]
    if config.get("train_size"):
        out += [f"Trained on a stratified sample of {config['train_size']} training examples "
                f"(seed {config.get('subset_seed', 0)}, `--train-size`).", ""]  # fmt: skip
    if run.labels:
        out += ["Labels, in output order: " + ", ".join(f"`{n}`" for n in run.labels) + ".", ""]
    return out


def training_section(run: CardInputs) -> list[str]:
    """The command, key settings, embeddings and any teacher."""
    out = []
    if run.info.get("command"):
        out += ["```bash", run.info["command"], "```", ""]
    rows = [[k, str(run.config[k])] for k in KEY_SETTINGS if run.config.get(k) is not None]
    if rows:
        out += _table(["setting", "value"], rows)
    if run.embeddings:
        cover = run.embeddings.get("vocab_coverage")
        cover_text = f", vocabulary coverage {cover:.1%}" if isinstance(cover, float) else ""
        out += [
            f"Embeddings: `{run.embeddings.get('source', '?')}`, dimension "
            f"{run.embeddings.get('dim', '?')}{cover_text}.",
            "",
        ]
    out += _distillation_lines(run.info)
    return out + [
        "Full configuration: `train_config.json`; timing and versions: `run_info.json`.", ""
    ]


def metrics_section(run: CardInputs) -> list[str]:
    """Test averages, intervals, calibration, per-class F1 with thresholds, plots."""
    metrics, out = run.metrics, []
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
    per_threshold = run.thresholds.get("per_class_thresholds", {})
    if run.per_class:
        out += ["Per class (test), with the decision threshold of each class:", ""]
        rows = [
            [r["label"], r["precision"], r["recall"], r["f1"], _interval(r), r["support"],
             per_threshold.get(r["label"], "")]
            for r in run.per_class
        ]  # fmt: skip
        out += _table(
            ["label", "precision", "recall", "F1", "F1 95% interval", "support", "threshold"], rows
        )
    if (run.path / layout.PER_CLASS_F1_PLOT).is_file():
        out += ["![Per-class test F1](per_class_f1.png)", ""]
    if (run.path / layout.RELIABILITY_PLOT).is_file():
        out += [f"![Reliability diagram]({layout.RELIABILITY_PLOT})", ""]
    return out


def thresholds_section(thresholds: dict) -> list[str]:
    """How labels are chosen from probabilities (`thresholds.json`)."""
    if not thresholds:
        return ["No `thresholds.json` in this run.", ""]
    dev = thresholds.get("dev_macro_f1", {})
    objective = thresholds.get("objective", "macro")
    resamples = thresholds.get("threshold_resamples", 0)
    search = (
        f"the best cuts of {resamples} bootstrap resamples of dev, averaged (bagged; "
        "steadier on unseen text than the exact best cuts on dev, which score higher "
        "on dev itself: `per_class_exact` below)"
        if resamples
        else "the exact best cut of each class on dev"
    )
    out = [
        "A label is predicted when its probability is at least its own threshold, tuned "
        f"on the dev split to maximise {OBJECTIVE_TEXT.get(objective, objective)} "
        "(`thresholds.json`, exact values in `per_class_thresholds.npy`; the SavedModel "
        "applies them in its `labels` output).",
        "",
        f"- threshold objective: `{objective}` (dev value "
        f"{_fmt(thresholds.get('objective_dev_score'))})",
        f"- temperature applied to the logits: {thresholds.get('temperature', 1.0):g}",
        f"- per-class search: {search}",
        f"- tuned against: {threshold_target_text(thresholds)}",
        f"- best single global threshold on dev: {thresholds.get('global_threshold')}",
        f"- at-least-one rule (argmax label when none passes): "
        f"{'on' if thresholds.get('at_least_one') else 'off'}",
    ]
    out += [f"- dev macro-F1 with `{k}`: {v:.3f}" for k, v in dev.items()]
    fallback = thresholds.get("fallback_classes") or []
    if fallback:
        out.append(f"- no dev positives, threshold left at 0.5: {', '.join(fallback)}")
    return out + [""]


def threshold_target_text(thresholds: dict) -> str:
    """What the per-class cuts maximised F1 against: the labels, or a mix (thresholds.json)."""
    soft = thresholds.get("threshold_soft_labels")
    if not soft:
        return "the dev labels"
    weight = float(thresholds.get("threshold_gold_weight", 1.0))
    return f"{weight:g} x the dev labels + {1 - weight:g} x the {soft}'s dev probabilities"


def failure_modes(run: CardInputs) -> list[str]:
    """Rare classes, sarcasm, the dataset's caveats, truncation, neutral."""
    out = []
    if run.per_class:
        rare = sorted(run.per_class, key=lambda r: (r["support"], r["label"]))[:N_RARE]
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
    out += DATASET_CAVEATS.get(run.dataset, DATASET_CAVEATS["csv"])
    if run.preprocess.get("max_len"):
        out.append(
            f"- **Length.** Texts are cut to {run.preprocess['max_len']} tokens; anything "
            "after that is ignored."
        )
    if "neutral" in run.labels:
        out.append(
            "- **Neutral.** `neutral` is a label like the others, so it can co-occur with "
            "emotions; an empty prediction means no label passed its threshold."
        )
    return out + [""]


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
    ] + _cross_fit_lines(info)


def _cross_fit_lines(info: dict) -> list[str]:
    """Which runs gave the training texts' soft targets out of fold, if any did."""
    runs = info.get("cross_fit_teachers")
    if not runs:
        return []
    names = ", ".join(f"`{t['run_dir']}`" for t in runs)
    return [
        f"The soft targets of {info.get('train_out_of_fold', '?')} training texts came out "
        f"of fold, from the cross-fit run(s) {names}, each labelling the training texts it "
        f"was trained without; the teacher labelled the rest.",
        "",
    ]


def _table(header: list[str], rows: list[list]) -> list[str]:
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]
