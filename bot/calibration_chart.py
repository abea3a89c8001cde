"""The calibration chart: what happened to each letter's customers, and how well the churn
risk the total implies matches what happened (a reliability curve).

Drawn on a bare matplotlib ``Figure`` (no pyplot): no global backend or figure state, so the
bot can draw one per request from any thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from bot.display import KIND_WORDS
from scoring.calibration import KINDS, Calibration

# one colour per outcome kind, in KINDS order (colour-blind safe, Okabe–Ito)
COLOURS = ("#009E73", "#56B4E9", "#D55E00", "#E69F00", "#CC79A7", "#999999")
LABELS = tuple(KIND_WORDS[k] for k in KINDS)


@dataclass(frozen=True)
class ChartSize:
    """Inches, dots per inch, and a palette of ``colours`` (0: full colour). The chart has
    a few flat colours, so a 16-colour palette draws it the same at a quarter of the bytes."""

    width: float
    height: float
    dpi: int
    colours: int = 0


FILE = ChartSize(11, 4.6, 110)  # a file or a Slack upload: 1210 × 506 px, ~70 KB
# inside a Teams card as a data: URL, which counts towards the ~28 KB an activity may carry:
# 680 × 288 px, ~10 KB (~14 KB in base64), still legible
CARD = ChartSize(8.5, 3.6, 80, colours=16)


def chart_png(report: Calibration, title: str = "", size: ChartSize = FILE) -> bytes:
    """The chart as PNG bytes (for a file, a chat upload, or a card)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size.width, size.height), dpi=size.dpi, layout="constrained")
    bars, curve = fig.subplots(1, 2, width_ratios=(1.15, 1))
    letters = [row.letter for row in report.letters]
    bottoms = [0.0] * len(letters)
    for kind, colour, label in zip(KINDS, COLOURS, LABELS, strict=True):
        shares = [
            row.counts.get(kind, 0) / row.outcomes if row.outcomes else 0.0
            for row in report.letters
        ]
        if not any(shares):
            continue
        bars.bar(letters, shares, bottom=bottoms, color=colour, label=label, width=0.65)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    for i, row in enumerate(report.letters):
        bars.text(i, 1.01, f"n={row.outcomes:,}", ha="center", va="bottom", fontsize=8)
    bars.set_ylim(0, 1.08)
    bars.set_ylabel("share of outcomes")
    bars.set_xlabel(f"letter of the grade made ≥ {report.lead_days} days before")
    bars.set_title("What happened, per letter")
    bars.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)

    predicted = [p.predicted for p in report.reliability]
    observed = [p.observed for p in report.reliability]
    top = max([*predicted, *observed, 0.05]) * 1.1
    curve.plot(
        [0, top],
        [0, top],
        linestyle="--",
        color="#999999",
        linewidth=1,
        label="perfectly calibrated",
    )
    curve.plot(
        predicted, observed, marker="o", color="#D55E00", label="churn risk the total implies"
    )
    curve.set_xlim(0, top)
    curve.set_ylim(0, top)
    curve.set_xlabel("predicted churn (out of fold)")
    curve.set_ylabel("observed churn")
    curve.set_title("Reliability")
    lo, hi = report.auc_interval.low, report.auc_interval.high
    curve.text(
        0.03,
        0.97,
        f"AUC {report.auc:.2f} ({lo:.2f}–{hi:.2f})\n"
        f"Brier {report.brier:.3f} (base rate {report.brier_reference:.3f})\n"
        f"{report.outcomes:,} outcomes, {report.churned:,} churned",
        transform=curve.transAxes,
        va="top",
        fontsize=9,
    )
    curve.legend(fontsize=8, loc="lower right", frameon=False)
    if title:
        fig.suptitle(title)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return _palette(out.getvalue(), size.colours) if size.colours else out.getvalue()


def _palette(png: bytes, colours: int) -> bytes:
    """The PNG with at most ``colours`` colours (Pillow comes with matplotlib)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        quantized = im.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


def save_chart(report: Calibration, path: Path, title: str = "") -> Path:
    """Write the chart to ``path`` through a temporary file (no half-written PNG)."""
    data = chart_png(report, title)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
