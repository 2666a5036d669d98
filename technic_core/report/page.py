"""The HTML page: everything inline, so it opens from file:// with no server."""

from __future__ import annotations

import html

STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
h1{font-size:1.6em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc} h3{font-size:1em;margin:.2em 0}
table{border-collapse:collapse;font-size:.88em} td,th{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left} td:last-child,th:last-child{text-align:left}
.bad{color:#b00;font-weight:bold} .ok{color:#070} .noise{color:#b00;white-space:nowrap} .muted{color:#666}
.note{font-size:.88em;color:#444} .todo{background:#fff6d5;padding:.5em .8em;border-left:4px solid #d90}
.cards{display:flex;gap:1.5em;flex-wrap:wrap} .cards>div{flex:1 1 300px} .cards td{text-align:left}
small{color:#555} figure{margin:1em 0} svg{max-width:100%;height:auto}"""


def table(rows: list[list], head: list[str] | None) -> str:
    """Rows of HTML cells (the caller escapes them), under an escaped header if given."""
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    return "".join(out) + "</table>"


def page(title: str, header: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(t)}</h2>{content}" for t, content in sections)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{header}{body}</body></html>"
    )
