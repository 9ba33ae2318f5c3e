"""Tables behind the notebooks: data exploration, model comparison, error analysis.

Every function takes arrays, paths or DataFrames and returns numbers or DataFrames;
figures of these tables are in `emotag.analysis.plots`. Label matrices are multi-hot
`(n, C)` arrays in the column order of `label_names`. One module per notebook:
`exploration` (01), `comparison` and `uncertainty` (02), `errors` (03); everything is
importable from `emotag.analysis` itself.
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
    behaviour_failures,
    behaviour_file,
    behaviour_table,
    capability_table,
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
from emotag.analysis.uncertainty import (
    calibration_table,
    comparable_pairs,
    intervals_table,
    metrics_source,
    missing_note,
    paired_table,
    paired_title,
    per_class_intervals,
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
    "behaviour_file",
    "behaviour_table",
    "capability_table",
    "behaviour_failures",
    "metrics_source",
    "intervals_table",
    "missing_note",
    "per_class_intervals",
    "calibration_table",
    "comparable_pairs",
    "paired_title",
    "paired_table",
]
