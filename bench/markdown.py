"""One Markdown table of several models side by side, as the benchmarks print them."""

from __future__ import annotations


def models_table(title: str, names: list[str], rows: dict[str, list[str]]) -> list[str]:
    """Lines of a table: `title` over the row names, a column per model in `names`, a blank line after."""
    lines = [f"| {title} | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    return lines + [f"| {row} | " + " | ".join(cells) + " |" for row, cells in rows.items()] + [""]
