"""A short methods-and-results report, written as Markdown and as standalone HTML.

The report is built as a list of blocks (headings, paragraphs, bullet lists, tables, figures)
and rendered twice, so ``report.md`` and ``report.html`` always say the same thing. Figures are
PNG files beside the report: ``report.md`` links them by relative path, ``report.html`` embeds
them, so that it can be mailed on its own.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path


def fmt(x, digits: int = 3) -> str:
    """A number for a report: ``digits`` significant figures, "–" for None/nan."""
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return "–"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"


def fmt_ci(value, lo, hi, digits: int = 3, scale: float = 1.0) -> str:
    """``value (lo to hi)`` with None-safe formatting; ``scale`` e.g. 100 for percentages."""
    s = (lambda v: None if v is None else float(v) * scale)
    if lo is None and hi is None:
        return fmt(s(value), digits)
    return f"{fmt(s(value), digits)} ({fmt(s(lo), digits)} to {fmt(s(hi), digits)})"


class Report:
    """Blocks of a report, rendered to Markdown and HTML.

    Parameters
    ----------
    title : str
        The report's title (level-1 heading).
    """

    def __init__(self, title: str):
        self.title = title
        self.blocks: list[tuple] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", level, text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def bullets(self, items) -> None:
        self.blocks.append(("bullets", [str(i) for i in items]))

    def table(self, headers, rows, caption: str | None = None) -> None:
        self.blocks.append(("table", [str(h) for h in headers], [[fmt(c) for c in r] for r in rows], caption))

    def figure(self, filename: str, caption: str) -> None:
        self.blocks.append(("figure", filename, caption))

    # ------------------------------------------------------------------ rendering
    def answer_text(self, section: str = "Results", max_rows: int = 25, width: int = 110) -> str:
        """The key result for a terminal: the paragraphs of ``section`` up to its first table,
        that table (aligned plain text, at most ``max_rows`` rows) and the paragraphs right
        after it. Empty if the report has no such section."""
        import textwrap

        try:
            start = next(i for i, b in enumerate(self.blocks) if b[0] == "heading" and b[2] == section) + 1
        except StopIteration:
            return ""
        out: list[str] = []
        seen_table = False
        for b in self.blocks[start:]:
            if b[0] == "heading" or b[0] == "figure" and seen_table or b[0] == "table" and seen_table:
                break
            if b[0] == "paragraph":
                # a long paragraph (e.g. the plausibility warnings, already on stderr) is cut short
                text = b[1] if len(b[1]) <= 400 else b[1][:400].rsplit(" ", 1)[0] + " ... (report.md)"
                out += textwrap.wrap(text, width) + [""]
            elif b[0] == "table":
                seen_table = True
                _, headers, rows, caption = b
                if caption:
                    out.append(caption + ":")
                shown = rows[:max_rows]
                widths = [max(len(h), *(len(r[k]) for r in shown)) if shown else len(h) for k, h in enumerate(headers)]
                line = lambda cells: "  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
                out += [line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in shown]
                if len(rows) > max_rows:
                    out.append(f"... {len(rows) - max_rows} more rows in report.md")
                out.append("")
        return "\n".join(out).rstrip()

    def opening_paragraphs(self, section: str = "Results", most: int = 3) -> list[str]:
        """The message of ``section``: its paragraphs before its first table or figure or, when
        it opens with a table, its first ``most`` paragraphs."""
        before: list[str] = []
        every: list[str] = []
        inside = opened = False
        for b in self.blocks:
            if b[0] == "heading":
                if inside:
                    break
                inside = b[2] == section
            elif inside:
                if b[0] == "paragraph":
                    every.append(b[1])
                    if not opened:
                        before.append(b[1])
                else:
                    opened = True
        return before or every[:most]

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            if b[0] == "heading":
                out += ["#" * b[1] + " " + b[2], ""]
            elif b[0] == "paragraph":
                out += [b[1], ""]
            elif b[0] == "bullets":
                out += [f"- {i}" for i in b[1]] + [""]
            elif b[0] == "table":
                _, headers, rows, caption = b
                if caption:
                    out += [f"*{caption}*", ""]
                out.append("| " + " | ".join(headers) + " |")
                out.append("|" + "|".join("---" for _ in headers) + "|")
                out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
                out.append("")
            elif b[0] == "figure":
                out += [f"![{b[2]}]({b[1]})", "", f"*{b[2]}*", ""]
        return "\n".join(out).rstrip() + "\n"

    def to_html(self, directory: Path | None = None) -> str:
        """The report as one HTML page; figures found in ``directory`` are embedded (base64 PNG),
        so that the page can be mailed on its own."""
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>"]
        for b in self.blocks:
            if b[0] == "heading":
                body.append(f"<h{b[1]}>{e(b[2])}</h{b[1]}>")
            elif b[0] == "paragraph":
                body.append(f"<p>{e(b[1])}</p>")
            elif b[0] == "bullets":
                body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b[1]) + "</ul>")
            elif b[0] == "table":
                _, headers, rows, caption = b
                cap = f"<caption>{e(caption)}</caption>" if caption else ""
                head = "".join(f"<th>{e(h)}</th>" for h in headers)
                trs = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
                body.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
            elif b[0] == "figure":
                src = e(b[1])
                if directory is not None and Path(directory, b[1]).is_file() and b[1].endswith(".png"):
                    src = "data:image/png;base64," + base64.b64encode(Path(directory, b[1]).read_bytes()).decode("ascii")
                body.append(f'<figure><img src="{src}" alt="{e(b[2])}"><figcaption>{e(b[2])}</figcaption></figure>')
        style = (
            "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}"
            "table{border-collapse:collapse;margin:1rem 0;font-size:0.92rem}th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;text-align:right}"
            "th:first-child,td:first-child{text-align:left}caption{font-style:italic;text-align:left;margin-bottom:0.3rem}"
            "figure{margin:1.2rem 0}img{max-width:100%}figcaption{font-style:italic;font-size:0.9rem}"
        )
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(self.title)}</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
        )

    def write(self, directory: Path) -> None:
        """Write ``report.md`` and ``report.html`` into ``directory``."""
        Path(directory, "report.md").write_text(self.to_markdown(), encoding="utf-8")
        Path(directory, "report.html").write_text(self.to_html(directory), encoding="utf-8")
