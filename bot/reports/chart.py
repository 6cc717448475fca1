"""The /attribution chart: received, meetings and won per partner, sourced and influenced."""

from __future__ import annotations

import io

from bot.reports.summary import Summary

LANES = ("received", "meetings", "won")
COLOURS = {"sourced": "#2b6cb0", "influenced": "#68a4e0", "other": "#c9d6e3"}
MOST = 25  # partners on one chart: the busiest, by referrals received


def chart_png(summary: Summary, *, title: str) -> bytes:
    """A PNG: per partner, three bars (received, meetings, won), each split into the referrals
    the partner sourced, influenced, and the rest (other roles, or unclaimed)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    from matplotlib import pyplot as plt

    lines = sorted(summary.lines, key=lambda x: (-x.received, x.partner or ""))[:MOST]
    lines = [line for line in lines if line.received] or lines[:1]
    width = 0.26
    figure, axes = plt.subplots(figsize=(max(6.0, 0.9 * len(lines) + 2), 4.8), dpi=110)
    try:
        for n, lane in enumerate(LANES):
            xs = [i + (n - 1) * width for i in range(len(lines))]
            totals = [getattr(line, lane) for line in lines]
            sourced = [line.lanes.get(lane, (0, 0))[0] for line in lines]
            influenced = [line.lanes.get(lane, (0, 0))[1] for line in lines]
            other = [t - s - i for t, s, i in zip(totals, sourced, influenced, strict=True)]
            bottom = [0] * len(lines)
            for part, values in (
                ("sourced", sourced),
                ("influenced", influenced),
                ("other", other),
            ):
                axes.bar(
                    xs,
                    values,
                    width,
                    bottom=bottom,
                    color=COLOURS[part],
                    edgecolor="white",
                    linewidth=0.5,
                    label=part.capitalize() if n == 0 else None,
                )
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
            for x, total in zip(xs, totals, strict=True):
                axes.annotate(
                    f"{lane[0].upper()}\n{total}",
                    (x, total),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    xytext=(0, 1),
                    textcoords="offset points",
                )
        axes.set_xticks(range(len(lines)))
        axes.set_xticklabels([line.name for line in lines], rotation=30, ha="right", fontsize=8)
        axes.set_ylabel("referrals")
        axes.set_title(title + "\nR received · M meetings · W won", fontsize=10)
        axes.legend(frameon=False, fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)
