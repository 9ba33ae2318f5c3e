"""Tables behind the notebooks: data exploration, model comparison, error analysis.

Every function takes arrays, paths or DataFrames and returns numbers or DataFrames;
figures of these tables are in `emotag.analysis.plots`. Label matrices are multi-hot
`(n, C)` arrays in the column order of `label_names`. One module per notebook:
`exploration` (01), `comparison` (02), `errors` (03); everything is importable from
`emotag.analysis` itself.
"""

from emotag.analysis.comparison import (
    Predictions,
    average_precision,
    average_precision_table,
    find_runs,
    overall_table,
    per_class_f1_table,
    pr_curves,
    precision_recall_curve,
    read_predictions,
    threshold_effects,
    threshold_sweep,
)
from emotag.analysis.errors import (
    attention_examples_html,
    class_errors,
    confusion_counts,
    confusion_examples,
    confusion_pairs,
    worst_examples,
)
from emotag.analysis.exploration import (
    ambiguity_summary,
    cooccurrence,
    emoji_usage,
    head,
    label_frequencies,
    text_lengths,
    top_cooccurring_pairs,
)

__all__ = [
    "head",
    "label_frequencies",
    "cooccurrence",
    "top_cooccurring_pairs",
    "ambiguity_summary",
    "text_lengths",
    "emoji_usage",
    "find_runs",
    "overall_table",
    "per_class_f1_table",
    "Predictions",
    "read_predictions",
    "precision_recall_curve",
    "average_precision",
    "pr_curves",
    "average_precision_table",
    "threshold_sweep",
    "threshold_effects",
    "confusion_counts",
    "confusion_pairs",
    "class_errors",
    "worst_examples",
    "confusion_examples",
    "attention_examples_html",
]
