"""The report's charts: matplotlib PNGs drawn headless (Agg), each with a title, labelled axes
and the program's currency.

matplotlib is imported inside `charts` so that nothing but a report loads it (it costs about
half a second), and it draws on `Figure` objects of its own, never pyplot's global state, so
two reports drawn at once in worker threads do not share a figure.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.render import Renderer
from bot.replies import Line
from core.reports import Report

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.5, 100  # 800 x 450 pixels
ISSUED, REDEEMED, EXPIRED = "#2e7d32", "#1565c0", "#c62828"


@dataclass(frozen=True, kw_only=True)
class Chart:
    """One chart: a file name, its title (already in the reader's language) and the PNG."""

    filename: str
    title: str
    png: bytes


def charts(report: Report, renderer: Renderer, language: str) -> list[Chart]:
    """The daily points flows, the points expiring soon and the top rewards, as money."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def text(key: str, **params: object) -> str:
        return renderer.line(Line(key, params), language)

    value_axis = text("chart.axis_value", currency=report.currency)
    drawn = []
    for name, draw in (("flows", _flows), ("expiring", _expiring), ("rewards", _rewards)):
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
        FigureCanvasAgg(figure)  # the headless raster backend, whatever MPLBACKEND says
        axes = figure.add_subplot()
        title = draw(axes, report, text)
        axes.set_title(title)
        axes.set_ylabel(value_axis)
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
        drawn.append(Chart(filename=f"report-{name}.png", title=title, png=buffer.getvalue()))
    return drawn


def _money(report: Report, points: int) -> float:
    """Points as an amount of the program's currency, for plotting."""
    return float(Decimal(points) * report.point_value)


def _flows(axes: Any, report: Report, text: Callable[..., str]) -> str:
    days = report.section("daily").data["days"]
    assert isinstance(days, list)
    labels = [str(day["day"])[5:] for day in days]  # "11-22": the year is in the title
    positions = range(len(days))
    for offset, (key, color) in enumerate(
        (("issued", ISSUED), ("redeemed", REDEEMED), ("expired", EXPIRED))
    ):
        values = [_money(report, int(day[key])) for day in days]
        axes.bar([p + (offset - 1) * 0.28 for p in positions], values, width=0.28,
                 color=color, label=text(f"chart.{key}"))  # fmt: skip
    step = max(1, len(days) // 10)
    axes.set_xticks(list(positions)[::step], labels[::step])
    axes.set_xlabel(text("chart.axis_day"))
    axes.legend()
    first, last = report.period.first.isoformat(), report.period.last.isoformat()
    return text("chart.flows_title", first=first, last=last)


def _expiring(axes: Any, report: Report, text: Callable[..., str]) -> str:
    expiring = report.section("expiry").data["expiring_points"]
    assert isinstance(expiring, dict)
    labels = [text("chart.within_days", days=int(days)) for days in expiring]
    axes.bar(labels, [_money(report, int(p)) for p in expiring.values()], color=EXPIRED)
    axes.set_xlabel(text("chart.axis_horizon"))
    return text("chart.expiring_title")


def _rewards(axes: Any, report: Report, text: Callable[..., str]) -> str:
    top = report.section("redemption").data["top_rewards"]
    assert isinstance(top, list)
    labels = [str(row["reward"]) for row in top] or [text("chart.none")]
    values = [_money(report, int(row["points"])) for row in top] or [0.0]
    axes.bar(labels, values, color=REDEEMED)
    axes.set_xlabel(text("chart.axis_reward"))
    return text("chart.rewards_title")
