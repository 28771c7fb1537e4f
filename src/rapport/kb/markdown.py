"""Articles are written in Markdown and shown as HTML: CommonMark without raw HTML, links only to
the web, mail or this site. An article is content anyone may read, so what an author (or whoever
took their token) writes must never run in a reader's browser: no `<script>`, no `javascript:` or
`data:` link, no attribute smuggled through a link. Pure."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

SAFE_SCHEMES = ("http", "https", "mailto")


def safe_link(url: str) -> bool:
    """A web, mail or same-site link; never a script, data or file URL (however it is spelled)."""
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f")  # browsers drop these inside schemes
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return False
    if scheme:
        return scheme in SAFE_SCHEMES
    return not cleaned.startswith("//") and not cleaned.startswith("\\")


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.validateLink = safe_link  # type: ignore[method-assign]

    def link_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        href = str(tokens[idx].attrGet("href") or "")
        if urlsplit(href).scheme in ("http", "https"):
            tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return str(self.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


def render_markdown(text: str) -> str:
    """The article's HTML: every character the author typed is escaped unless Markdown made it markup."""
    return _parser().render(text)


def plain_text(text: str) -> str:
    """What a reader reads of the article, without markup: what search indexes and snippets show."""
    parts: list[str] = []
    for token in _parser().parse(text):
        if token.type == "inline" and token.children:
            parts.append("".join(c.content for c in token.children if c.type in ("text", "code_inline")))
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
    return "\n".join(p.strip() for p in parts if p.strip())


def snippet(text: str, limit: int = 220) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"
