"""Figures for evaluation reports."""

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def plot_per_class_f1(report, path, title=None, reference=None):
    """Horizontal bar chart of per-class F1, sorted, with the macro-F1 line.

    Draws on a bare `Figure` with the Agg canvas rather than through
    `pyplot`, so it works headless and never changes the global backend of
    an importing notebook.

    Args:
        report: dict from `emotag.evaluation.metrics.multilabel_report`.
        path: PNG destination.
        title: optional figure title.
        reference: optional mapping label name -> F1 from elsewhere (e.g. the
            GoEmotions paper), drawn as markers next to the bars.

    Returns:
        `path`.
    """
    rows = sorted(report["per_class"], key=lambda row: row["f1"])
    names = [row["label"] for row in rows]
    scores = [row["f1"] for row in rows]
    positions = range(len(rows))

    fig = Figure(figsize=(7, max(3.0, 0.28 * len(rows) + 1.2)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(positions, scores, color="tab:blue", label="F1")
    macro = report["macro"]["f1"]
    ax.axvline(macro, color="tab:red", linestyle="--", label=f"macro-F1 {macro:.3f}")
    if reference:
        marked = [(i, reference[n]) for i, n in enumerate(names) if n in reference]
        if marked:
            ys, xs = zip(*marked, strict=True)
            ax.scatter(xs, ys, marker="|", s=200, color="black", zorder=3, label="reference")
    ax.set_yticks(list(positions), names)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("F1")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_learning_curves(curves, path, title=None, ylabel="test macro-F1"):
    """One line per model: a score against the number of training texts (log axis), each
    point the mean over seeds with a ± one-std error bar.

    Args:
        curves: {model name: [(training texts, mean, std), ...]}.
        path: PNG destination.
        title: optional figure title.
        ylabel: what the scores are.

    Returns:
        `path`.
    """
    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, points in curves.items():
        sizes, means, stds = zip(*sorted(points), strict=True)
        ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    sizes = sorted({size for points in curves.values() for size, _, _ in points})
    ax.set_xticks(sizes, [f"{size:,}" for size in sizes])  # the sizes trained, not powers of 10
    ax.minorticks_off()
    ax.set_xlabel("training texts")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    if curves:
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
