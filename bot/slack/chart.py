"""The portfolio chart: the book's share of each good against the target, as a PNG."""

from __future__ import annotations

import io

from bot.display import GOODS as _ORDER  # the order every channel lists the goods in
from scoring import Portfolio


def portfolio_png(p: Portfolio, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import pyplot as plt

    labels = [g.label for g in _ORDER]
    shares = [p.shares[g] for g in _ORDER]
    targets = [p.target.share(g) for g in _ORDER]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    try:
        y = range(len(labels))
        ax.barh([i + 0.2 for i in y], shares, height=0.4, label="Your book", color="#2b7bb9")
        ax.barh([i - 0.2 for i in y], targets, height=0.4, label="Target", color="#c9d6df")
        ax.set_yticks(list(y), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of graded customers (by the good each mostly serves)")
        ax.set_title(title[:80])
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
