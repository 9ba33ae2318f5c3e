"""Do the probabilities mean what they say? Calibration error, Brier score, reliability
diagrams, and temperature scaling fitted on dev.

Multi-label probabilities are judged cell by cell: each (text, label) probability is a
forecast of a 0/1 event. Expected calibration error (ECE; Naeini et al., AAAI 2015;
Guo et al., ICML 2017) bins the forecasts into equal-width bins and averages
|mean forecast - observed frequency| weighted by bin size. Brier score (Brier, 1950) is
the mean squared difference between forecast and outcome. Temperature scaling (Guo et
al., 2017) divides every logit by one scalar T fitted on dev by log-loss; it changes
no ranking, so per-class thresholds tuned after it give the same dev F1. Platt scaling
(Platt, 1999) fits a slope and an intercept per class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

BINS = 15  # Guo et al. (2017) use 15 equal-width bins
_EPS = 1e-7


def _flat(probs, y_true) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64)
    if p.shape != y.shape:
        raise ValueError(f"probabilities {p.shape} and labels {y.shape} differ in shape")
    return p, y


def reliability_bins(probs, y_true, bins=BINS) -> dict[str, np.ndarray]:
    """Per-bin count, mean forecast and observed frequency over all cells."""
    p, y = _flat(probs, y_true)
    p, y = p.ravel(), y.ravel()
    index = np.minimum((p * bins).astype(int), bins - 1)  # p = 1.0 goes to the last bin
    count = np.bincount(index, minlength=bins).astype(np.float64)
    total_p = np.bincount(index, weights=p, minlength=bins)
    total_y = np.bincount(index, weights=y, minlength=bins)
    safe = np.maximum(count, 1)
    return {
        "edges": np.linspace(0, 1, bins + 1),
        "count": count,
        "confidence": total_p / safe,
        "frequency": total_y / safe,
    }


def expected_calibration_error(probs, y_true, bins=BINS) -> float:
    """Bin-size-weighted mean |forecast - frequency| over all (text, label) cells."""
    b = reliability_bins(probs, y_true, bins)
    if b["count"].sum() == 0:
        return 0.0
    gaps = np.abs(b["confidence"] - b["frequency"])
    return float(np.sum(b["count"] * gaps) / b["count"].sum())


def brier_score(probs, y_true) -> float:
    """Mean squared difference between probability and 0/1 outcome, over all cells."""
    p, y = _flat(probs, y_true)
    return float(np.mean((p - y) ** 2)) if p.size else 0.0


def calibration_report(probs, y_true, label_names, bins=BINS) -> dict:
    """ECE and Brier overall and per class (JSON-ready)."""
    p, y = _flat(probs, y_true)
    return {
        "bins": bins,
        "ece": expected_calibration_error(p, y, bins),
        "brier": brier_score(p, y),
        "per_class": {
            name: {
                "ece": expected_calibration_error(p[:, c], y[:, c], bins),
                "brier": brier_score(p[:, c], y[:, c]),
            }
            for c, name in enumerate(label_names)
        },
    }


def apply_temperature(probs, temperature: float) -> np.ndarray:
    """sigmoid(logit(p) / T) in float32, the same arithmetic the SavedModel runs."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1 - _EPS)
    logits = np.log(p) - np.log1p(-p)
    return (1.0 / (1.0 + np.exp(-logits / temperature))).astype(np.float32)


def log_loss(probs, y_true) -> float:
    p, y = _flat(probs, y_true)
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def fit_temperature(probs, y_true, low=0.05, high=20.0, steps=60) -> float:
    """The T minimising dev log-loss: golden-section search on log T.

    Log-loss is convex in 1/T for fixed logits, so the search on log T finds its single
    minimum; 60 golden steps narrow [0.05, 20] to a factor of ~1 + 1e-12.
    """
    golden = (np.sqrt(5) - 1) / 2
    a, b = np.log(low), np.log(high)

    def loss(log_t):
        return log_loss(apply_temperature(probs, float(np.exp(log_t))), y_true)

    c, d = b - golden * (b - a), a + golden * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(steps):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - golden * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + golden * (b - a)
            fd = loss(d)
    return float(np.exp((a + b) / 2))


def platt_scale(probs, y_true) -> np.ndarray:
    """Each class's probabilities refitted to its labels: sigmoid(a_c * logit(p) + b_c),
    a_c and b_c by L2-regularised logistic regression on these rows (Platt, 1999).

    Unlike one temperature it also moves each class's base rate, which a class-balanced
    loss shifts. A class whose labels are all 0 (or all 1) gets their mean.

    Returns:
        float64 `(n, C)`.
    """
    from sklearn.linear_model import LogisticRegression

    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1 - _EPS)
    logits = np.log(p) - np.log1p(-p)
    y = np.asarray(y_true).astype(int)
    scaled = np.empty_like(logits)
    for c in range(logits.shape[1]):
        if y[:, c].min() == y[:, c].max():
            scaled[:, c] = y[:, c].mean()
            continue
        fit = LogisticRegression().fit(logits[:, c : c + 1], y[:, c])
        scaled[:, c] = fit.predict_proba(logits[:, c : c + 1])[:, 1]
    return scaled


def choose_temperature(dev_probs, dev_labels) -> tuple[float, dict]:
    """Fits T on dev; keeps it only if it lowers dev ECE (else T = 1).

    Returns:
        (temperature, {"fitted": T, "kept": bool, "dev_ece_before", "dev_ece_after",
        "dev_brier_before", "dev_brier_after"}).
    """
    fitted = fit_temperature(dev_probs, dev_labels)
    scaled = apply_temperature(dev_probs, fitted)
    info = {
        "fitted": fitted,
        "dev_ece_before": expected_calibration_error(dev_probs, dev_labels),
        "dev_ece_after": expected_calibration_error(scaled, dev_labels),
        "dev_brier_before": brier_score(dev_probs, dev_labels),
        "dev_brier_after": brier_score(scaled, dev_labels),
    }
    info["kept"] = info["dev_ece_after"] < info["dev_ece_before"]
    return (fitted if info["kept"] else 1.0), info


def reliability_figure(probs, y_true, title: str = "Reliability", bins=BINS, size: float = 5.0,
                       dpi: int = 100):
    """A reliability diagram of every (text, label) probability on a bare Agg `Figure`:
    observed frequency per bin against the diagonal, the ECE in the title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    b = reliability_bins(probs, y_true, bins)
    used = b["count"] > 0
    centers = (b["edges"][:-1] + b["edges"][1:]) / 2
    fig = Figure(figsize=(size, size), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.bar(centers[used], b["frequency"][used], width=1 / bins, alpha=0.6, edgecolor="black",
           label="observed frequency")  # fmt: skip
    ax.plot(b["confidence"][used], b["frequency"][used], marker="o", color="tab:red",
            label="mean forecast")  # fmt: skip
    ece = expected_calibration_error(probs, y_true, bins)
    ax.set(xlabel="predicted probability", ylabel="observed frequency", xlim=(0, 1),
           ylim=(0, 1), title=f"{title} (ECE {ece:.4f})")  # fmt: skip
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_reliability(probs, y_true, path: str | Path, title: str = "Reliability", bins=BINS):
    """Writes `reliability_figure` to `path` (a PNG in the run directory) and returns it."""
    reliability_figure(probs, y_true, title, bins).savefig(path)
    return Path(path)
