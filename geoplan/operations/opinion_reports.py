"""Quarterly opinion reports for a county or the city: tables, hotspots, batch list, policy draft.

:func:`quarterly_report` computes a :class:`QuarterReport` from the opinion records (pure);
:meth:`QuarterReport.to_markdown`, :meth:`~QuarterReport.to_html` and
:meth:`~QuarterReport.to_pdf` render it with matplotlib charts — the PDF embeds a CJK font
(WenQuanYi Micro Hei or Noto CJK; Debian ``fonts-wqy-microhei``), the HTML carries its charts
inline and loads nothing from outside.

What the report counts, for quarter *Q* and scope *S* (a county, or the whole city):

* received — opinions received in *Q* in *S*, by category, level and **status at the report
  date** (the quarter's last day, or ``as_of`` when earlier; later answers are not seen);
* overdue — every opinion of *S* still open at the report date past its deadline, whatever
  quarter it came in (the backlog matters);
* median days to an answer — over opinions answered in *Q* (calendar days from receipt);
* hotspots — per town: received, unresolved at the report date, overdue, per 10,000 people;
* the city-level batch — opinions routed to the city batch of *Q* (for a county: raised there);
* the policy draft — the policy-level opinions of *Q* grouped by category with examples.

Examples
--------
>>> import datetime as dt
>>> from geoplan.operations.opinion_synth import load_year
>>> from geoplan.settings import BUNDLED_DATASET
>>> from geoplan.datasets import Dataset
>>> rep = quarterly_report(load_year().opinions, Dataset.load(BUNDLED_DATASET), "2026Q2")
>>> rep.scope_name, int(rep.by_status["count"].sum()) == rep.received
('盐城市', True)
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.operations._opinion_helpers import CATEGORIES, LEVELS, OPEN_STATUSES, STATUSES, quarter_bounds
from geoplan.operations.opinions import flag_overdue, redact
from geoplan.operations.workdays import WorkdayCalendar

__all__ = ["QuarterReport", "cjk_font_path", "quarterly_report", "status_on"]

_FONT_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "SimHei")


def status_on(opinions: pd.DataFrame, day: dt.date) -> pd.Series:
    """Each opinion's status as it stood at the end of `day` (from its answer and closing dates).

    Opinions received after `day` get ``None``. One answered or closed later than `day` counts as
    ``in_progress`` then (or ``assigned`` if it was routed and never reported in progress).
    """
    t = pd.Timestamp(day)
    received = pd.to_datetime(opinions["received_on"])
    answered = pd.to_datetime(opinions["answered_on"])
    closed = pd.to_datetime(opinions["closed_on"])
    now = opinions["status"].astype(str)
    was_open = np.where(now.isin(list(OPEN_STATUSES)), now, "in_progress")
    out = np.where(closed.notna() & (closed <= t), "closed",
                   np.where(answered.notna() & (answered <= t), "answered", was_open))
    return pd.Series(np.where((received <= t).to_numpy(), out, np.array(None, dtype=object)), index=opinions.index,
                     dtype="object")


@dataclass(frozen=True)
class QuarterReport:
    """One quarter's report for a scope (a county or the city). Tables have Chinese labels."""

    quarter: str
    scope: str | None  # county code, or None for the city
    scope_name: str
    report_date: dt.date
    received: int
    by_category: pd.DataFrame
    by_level: pd.DataFrame
    by_status: pd.DataFrame
    overdue: pd.DataFrame
    median_days_to_answer: float
    median_by_level: pd.DataFrame
    hotspots: gpd.GeoDataFrame
    city_batch: pd.DataFrame
    policy_draft: str
    notes: tuple[str, ...]

    # ---- rendering ------------------------------------------------------------------------------
    def _summary_lines(self) -> list[str]:
        med = "—" if np.isnan(self.median_days_to_answer) else f"{self.median_days_to_answer:.0f} 天"
        return [f"统计期：{self.quarter}（截至 {self.report_date.isoformat()}）",
                f"本季度受理民情民意 {self.received} 件；逾期未办结 {len(self.overdue)} 件；答复用时中位数 {med}。",
                f"市级季度交办批次 {len(self.city_batch)} 件；体制机制和政策类 "
                f"{int(self.by_level.loc[self.by_level['level'] == 'policy', 'count'].sum())} 件。"]

    def to_markdown(self, charts_dir: str | Path | None = None) -> str:
        """The report as Markdown; with `charts_dir` the charts are written there as PNG and linked."""
        parts = [f"# {self.scope_name}民情民意季度报告（{self.quarter}）", "", *self._summary_lines(), ""]
        if self.notes:
            parts += ["> 工作日历说明：" + "；".join(self.notes), ""]
        if charts_dir is not None:
            d = Path(charts_dir)
            d.mkdir(parents=True, exist_ok=True)
            for name, png in self._charts().items():
                (d / f"{name}.png").write_bytes(png)
                parts += [f"![{name}]({d.name}/{name}.png)", ""]
        for title, t in self._tables():
            parts += [f"## {title}", "", _md_table(t), ""]
        parts += ["## 向市委报送的体制机制和政策问题（草稿）", "", self.policy_draft, ""]
        return "\n".join(parts)

    def to_html(self) -> str:
        """A self-contained HTML page (charts inline as PNG data URIs; nothing loaded from outside)."""
        esc = html.escape
        body = [f"<h1>{esc(self.scope_name)}民情民意季度报告（{esc(self.quarter)}）</h1>"]
        body += [f"<p>{esc(line)}</p>" for line in self._summary_lines()]
        if self.notes:
            body.append(f"<p class='note'>工作日历说明：{esc('；'.join(self.notes))}</p>")
        for name, png in self._charts().items():
            body.append(f"<img alt='{esc(name)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
        for title, t in self._tables():
            body += [f"<h2>{esc(title)}</h2>", t.to_html(index=False, border=0, na_rep="")]
        body += ["<h2>向市委报送的体制机制和政策问题（草稿）</h2>",
                 "".join(f"<p>{esc(p)}</p>" for p in self.policy_draft.split("\n") if p.strip())]
        style = ("body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;max-width:60em;margin:auto}"
                 "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
                 "img{max-width:100%}.note{color:#a60}")
        return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{esc(self.scope_name)}"
                f"{esc(self.quarter)}</title><style>{style}</style></head><body>{''.join(body)}</body></html>")

    def to_pdf(self, path: str | Path) -> Path:
        """Write the report as PDF (charts, tables, the policy draft) with an embedded CJK font."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_pdf import PdfPages

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with plt.rc_context(cast(Any, _rc())), PdfPages(path, metadata={"Title": f"{self.scope_name} {self.quarter}",
                                                              "Creator": "geoplan"}) as pdf:
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.08, 0.95, f"{self.scope_name}民情民意季度报告（{self.quarter}）", fontsize=16, va="top")
            y = 0.91
            for line in self._summary_lines() + ([f"工作日历说明：{n}" for n in self.notes]):
                fig.text(0.08, y, line, fontsize=9, va="top", wrap=True)
                y -= 0.025
            axes = [fig.add_axes((0.1, 0.48, 0.85, 0.3)), fig.add_axes((0.1, 0.1, 0.38, 0.28)),
                    fig.add_axes((0.58, 0.1, 0.38, 0.28))]
            self._draw_category(axes[0])
            self._draw_level(axes[1])
            self._draw_status(axes[2])
            pdf.savefig(fig)
            plt.close(fig)
            fig, ax = plt.subplots(figsize=(8.27, 11.69))
            self._draw_hotspots(ax)
            pdf.savefig(fig)
            plt.close(fig)
            for title, t in self._tables():
                fig = plt.figure(figsize=(8.27, 11.69))
                fig.text(0.05, 0.96, title, fontsize=12, va="top")
                _draw_table(fig, t, _PDF_ROWS)
                pdf.savefig(fig)
                plt.close(fig)
            lines = [ln for ln in self.policy_draft.split("\n")]
            for start in range(0, max(len(lines), 1), 45):
                fig = plt.figure(figsize=(8.27, 11.69))
                fig.text(0.05, 0.96, "向市委报送的体制机制和政策问题（草稿）", fontsize=12, va="top")
                for k, line in enumerate(lines[start:start + 45]):
                    fig.text(0.05, 0.92 - k * 0.019, _clip(line, 60), fontsize=8, va="top")
                pdf.savefig(fig)
                plt.close(fig)
        return path

    # ---- pieces ---------------------------------------------------------------------------------
    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        hot = pd.DataFrame(self.hotspots.drop(columns="geometry")).head(15)
        return [("按类别", self.by_category), ("按层级", self.by_level), ("按办理状态", self.by_status),
                ("答复用时（按层级）", self.median_by_level), ("逾期未办结事项", self.overdue),
                ("民情热点镇（街道）前 15", hot), ("市级季度交办批次清单", self.city_batch)]

    def _draw_category(self, ax: Any) -> None:
        t = self.by_category
        ax.barh(t["类别"][::-1], t["count"][::-1], color="#3b6ea8")
        ax.set_title("按类别受理件数")

    def _draw_level(self, ax: Any) -> None:
        t = self.by_level
        ax.bar(t["层级"], t["count"], color=["#6a9f58", "#e0a43a", "#c8553d", "#7c5c9e"])
        ax.set_title("按层级")
        ax.tick_params(axis="x", labelsize=6)

    def _draw_status(self, ax: Any) -> None:
        t = self.by_status
        ax.bar(t["状态"], t["count"], color="#888")
        ax.set_title("按办理状态（报告日）")
        ax.tick_params(axis="x", labelsize=7)

    def _draw_hotspots(self, ax: Any) -> None:
        g = self.hotspots
        if len(g):
            g.plot(column="unresolved_per_10k", ax=ax, cmap="OrRd", legend=True, edgecolor="#999", linewidth=0.3,
                   legend_kwds={"label": "每万人未办结件数", "shrink": 0.5})
        ax.set_title(f"{self.scope_name}民情热点（{self.quarter}，未办结件数 / 万人）")
        ax.set_axis_off()

    def _charts(self) -> dict[str, bytes]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out: dict[str, bytes] = {}
        with plt.rc_context(cast(Any, _rc())):
            for name, draw, size in (("category", self._draw_category, (7, 4)), ("level", self._draw_level, (5, 3)),
                                     ("status", self._draw_status, (5, 3)), ("hotspots", self._draw_hotspots, (7, 7))):
                fig, ax = plt.subplots(figsize=size)
                draw(ax)
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
                plt.close(fig)
                out[name] = buf.getvalue()
        return out


_PDF_ROWS = 45  # rows of a table shown in the PDF; the HTML and Markdown have them all


def _draw_table(fig: Any, t: pd.DataFrame, max_rows: int) -> None:
    """A table as one multi-line text block per column (fast, and aligned with a proportional font)."""
    if not len(t):
        fig.text(0.05, 0.9, "（无）", fontsize=10)
        return
    chunk = t.head(max_rows).astype(object)
    widths = [max(len(str(c)), *(len(_clip(v)) for v in chunk[c])) for c in chunk.columns]
    x, scale = 0.05, 0.9 / max(sum(min(w, 28) for w in widths), 1)
    for col, w in zip(chunk.columns, widths):
        block = "\n".join([str(col)] + [_clip(v) for v in chunk[col]])
        fig.text(x, 0.92, block, fontsize=6.5, va="top", linespacing=1.45, family=None)
        x += min(w, 28) * scale
    if len(t) > max_rows:
        fig.text(0.05, 0.03, f"另有 {len(t) - max_rows} 行未列出，见 HTML / Markdown 版。", fontsize=8)


def _clip(value: Any, n: int = 28) -> str:
    s = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return s if len(s) <= n else s[: n - 1] + "…"


def _md_table(t: pd.DataFrame) -> str:
    if not len(t):
        return "（无）"
    cols = list(t.columns)
    rows = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    rows += ["| " + " | ".join(_clip(v, 60).replace("|", "／") for v in r) + " |" for r in t.to_numpy()]
    return "\n".join(rows)


def cjk_font_path() -> str:
    """Path of an installed CJK font for the charts; :class:`InputError` with the fix if none is."""
    from matplotlib import font_manager as fm

    def find(manager: fm.FontManager) -> str | None:
        for family in _FONT_FAMILIES:
            try:
                return str(manager.findfont(fm.FontProperties(family=family), fallback_to_default=False))
            except ValueError:
                continue
        return None

    # matplotlib's cached font list predates a font installed after its first
    # run (what the error below asks the user to do), so on a miss the
    # system fonts are scanned again before giving up
    path = find(fm.fontManager) or find(fm.FontManager())
    if path is not None:
        return path
    raise InputError("report: no Chinese font found for the charts; install one, e.g. "
                     "`apt-get install fonts-wqy-microhei` (Debian) or Noto Sans CJK")


def _rc() -> dict[str, Any]:
    from matplotlib import font_manager as fm

    path = cjk_font_path()
    fm.fontManager.addfont(path)
    name = fm.FontProperties(fname=path).get_name()
    # Type 42: the font is embedded (subset) as TrueType, so the PDF shows the same glyphs anywhere.
    return {"font.family": [name], "pdf.fonttype": 42, "axes.unicode_minus": False, "svg.fonttype": "none",
            "pdf.compression": 6}


def _counts(values: pd.Series, vocab: dict[str, str], key: str, label: str) -> pd.DataFrame:
    c = values.value_counts().reindex(list(vocab), fill_value=0)
    return pd.DataFrame({key: list(vocab), label: [vocab[k] for k in vocab], "count": c.to_numpy().astype(int)})


def quarterly_report(opinions: pd.DataFrame, dataset: Dataset, quarter: str, county: str | None = None,
                     as_of: dt.date | None = None, calendar: WorkdayCalendar | None = None) -> QuarterReport:
    """Compute the quarter's report for `county` (a county code) or, with None, the whole city.

    Parameters
    ----------
    opinions
        Opinion records (:data:`~geoplan.operations.opinions.COLUMNS`; contacts are dropped first).
    dataset
        For town names, populations and polygons.
    quarter
        ``"YYYYQn"``.
    county
        A county code of the dataset, or None for the city.
    as_of
        The day the data stands at; the report date is the earlier of it and the quarter's end.
    calendar
        Working days (for the calendar notes and working days overdue).
    """
    calendar = calendar or WorkdayCalendar()
    q0, q1 = quarter_bounds(quarter)
    day = min(q1, as_of) if as_of is not None else q1
    counties = dataset.counties.set_index(dataset.counties["code"].astype(str))["name"].astype(str)
    if county is not None and county not in counties.index:
        raise InputError(f"report: unknown county code {county!r}; the dataset has {sorted(counties.index)}")
    ops = redact(opinions).copy()
    if county is not None:
        ops = ops[ops["county_code"].astype(str) == county]
    ops["status_then"] = status_on(ops, day)
    ops = ops[ops["status_then"].notna()]
    # as the record stood at the report date: not answered / closed yet if that came later
    then = ops.assign(status=ops["status_then"])
    for c in ("answered_on", "closed_on"):
        then[c] = np.where((pd.to_datetime(then[c]) <= pd.Timestamp(day)).to_numpy(), then[c].to_numpy(dtype=object),
                           np.array(None, dtype=object))
    flagged = flag_overdue(then, as_of=day, calendar=calendar)
    received = pd.to_datetime(flagged["received_on"])
    inq = flagged[(received >= pd.Timestamp(q0)) & (received <= pd.Timestamp(q1))]
    by_cat = _counts(inq["category"], CATEGORIES, "category", "类别")
    by_lvl = _counts(inq["level"], LEVELS, "level", "层级")
    by_st = _counts(inq["status_then"], STATUSES, "status", "状态")
    od = flagged[flagged["overdue"]].sort_values(["deadline", "id"])
    towns = dataset.towns.set_index(dataset.towns["code"].astype(str))
    overdue = pd.DataFrame({"编号": od["id"], "镇（街道）": od["town_code"].astype(str).map(towns["name"]),
                            "类别": od["category"].map(CATEGORIES), "承办单位": od["assigned_unit"],
                            "期限": od["deadline"], "逾期工作日": od["workdays_overdue"]}).reset_index(drop=True)
    answered = pd.to_datetime(flagged["answered_on"])
    aq = flagged[(answered >= pd.Timestamp(q0)) & (answered <= pd.Timestamp(day))]
    median = float(aq["days_to_answer"].median()) if len(aq) else float("nan")
    mbl = aq.groupby("level")["days_to_answer"].agg(["count", "median"]).reindex(list(LEVELS))
    median_by_level = pd.DataFrame({"层级": [LEVELS[k] for k in LEVELS], "答复件数": mbl["count"].fillna(0).astype(int).to_numpy(),
                                    "用时中位数（天）": mbl["median"].round(1).to_numpy()})
    # hotspots: towns of the scope
    tw = dataset.towns if county is None else dataset.towns[dataset.towns["county_code"].astype(str) == county]
    codes = tw["code"].astype(str)
    pop = dataset.demand.groupby(dataset.demand["town_code"].astype(str))["population"].sum().reindex(codes).fillna(0)
    open_now = flagged[flagged["status_then"].isin(list(OPEN_STATUSES))]
    rec_t = inq.groupby(inq["town_code"].astype(str)).size().reindex(codes, fill_value=0)
    unres = open_now.groupby(open_now["town_code"].astype(str)).size().reindex(codes, fill_value=0)
    od_t = od.groupby(od["town_code"].astype(str)).size().reindex(codes, fill_value=0)
    per = np.divide(unres.to_numpy() * 10_000, pop.to_numpy(), out=np.zeros(len(codes)), where=pop.to_numpy() > 0)
    hot = gpd.GeoDataFrame({"town_code": codes.to_numpy(), "town_name": tw["name"].astype(str).to_numpy(),
                            "county_code": tw["county_code"].astype(str).to_numpy(),
                            "received": rec_t.to_numpy(), "unresolved": unres.to_numpy(), "overdue": od_t.to_numpy(),
                            "unresolved_per_10k": np.round(per, 2)}, geometry=tw.geometry.to_numpy(), crs=tw.crs)
    hot = hot.sort_values(["unresolved_per_10k", "town_code"], ascending=[False, True], kind="mergesort")
    hot = hot.reset_index(drop=True)
    batch = flagged[flagged["batch"].astype(str).eq(quarter) & flagged["track"].astype(str).eq("city_batch")]
    batch = batch.sort_values("id")
    city_batch = pd.DataFrame({"编号": batch["id"], "镇（街道）": batch["town_code"].astype(str).map(towns["name"]),
                               "类别": batch["category"].map(CATEGORIES), "内容": batch["text"],
                               "交办单位": batch["assigned_unit"], "办理期限": batch["deadline"],
                               "报告日状态": batch["status_then"].map(STATUSES)}).reset_index(drop=True)
    pol = flagged[flagged["batch"].astype(str).eq(quarter) & flagged["track"].astype(str).eq("policy_report")]
    scope_name = "盐城市" if county is None else counties[county]
    years = {q0.year, day.year} | {d.year for d in pd.to_datetime(flagged["deadline"]).dropna()}
    return QuarterReport(
        quarter=quarter, scope=county, scope_name=scope_name, report_date=day, received=len(inq),
        by_category=by_cat, by_level=by_lvl, by_status=by_st, overdue=overdue, median_days_to_answer=median,
        median_by_level=median_by_level, hotspots=hot, city_batch=city_batch,
        policy_draft=_policy_draft(pol, scope_name, quarter, towns["name"]),
        notes=tuple(calendar.notes(years)))


def _policy_draft(pol: pd.DataFrame, scope_name: str, quarter: str, town_names: pd.Series) -> str:
    if not len(pol):
        return f"{quarter}{scope_name}未收集到体制机制和政策类意见。"
    lines = [f"{quarter}，{scope_name}各级人大代表联络站点共收集体制机制和政策类意见 {len(pol)} 件，"
             "按类别归纳如下（本稿由系统根据已确认的意见生成，报送前须经审核修改）：", ""]
    counts = pol["category"].value_counts()
    for k, (cat, n) in enumerate(counts.items(), start=1):
        sub = pol[pol["category"] == cat].sort_values("id")
        towns_of = sub["town_code"].astype(str).map(town_names).value_counts().head(3)
        lines.append(f"{k}. {CATEGORIES[str(cat)]}（{n} 件，主要来自{'、'.join(towns_of.index.astype(str))}）")
        for text in sub["text"].head(2):
            lines.append(f"   例：{text}")
    lines += ["", "建议：上述问题由市人大常委会相关工作机构会同有关部门研究，提出完善政策和制度的意见。"]
    return "\n".join(lines)
