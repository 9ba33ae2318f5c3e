"""The fixed prose of a model card: dataset descriptions, caveats, use, loading, citation.

`emotag.runs.model_card` fills these in from a run's files; keeping the wording here
keeps the renderer short enough to read.
"""

from __future__ import annotations

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
OBJECTIVE_TEXT = {
    "macro": "that label's F1 (macro-F1)",
    "micro": "micro-F1 over all labels (coordinate ascent)",
    "jaccard": "example-based Jaccard accuracy (coordinate ascent)",
}


def intended_use(dataset: str) -> list[str]:
    """The card's "Intended use" paragraph."""
    return [
        "Research and demos: tagging English social-media comments, aggregating emotion "
        "counts over many texts, exploring the "
        + ("GoEmotions taxonomy" if dataset == "goemotions" else "label set it was trained on")
        + ". Predictions are "
        "probabilistic and often wrong on single texts: do not use them to make decisions "
        "about individual people (moderation, hiring, health, credit), and do not read them "
        "as what the author actually felt.",
        "",
    ]


def how_to_load(name: str) -> list[str]:
    """The card's "How to load" section body and its citation section."""
    return [
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
