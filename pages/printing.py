"""Printed documents: QR codes as inline SVG (segno) and PDFs rendered by WeasyPrint from the very HTML the
officer's browser prints.

WeasyPrint fetches nothing: the print stylesheet is handed over as text and every other URL (images,
fonts, links in the page) is refused, so a PDF never makes a request on the server's behalf. Fonts come
from the system (Debian's DejaVu: the Makefile and the Dockerfile install it with pango).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import segno
from markupsafe import Markup
from weasyprint import CSS, HTML, URLFetcher

from pages.render import STATIC_DIR

PRINT_CSS = STATIC_DIR / "print.css"
# One PDF at a time per process: WeasyPrint's font machinery (pango, fontconfig) is not documented as
# thread-safe, and a page takes a tenth of a second.
_RENDERING = threading.Lock()


def qr_svg(url: str, *, label: str) -> Markup:
    """`url` as a QR code: an inline SVG (no request, no script) with an accessible name, scaled by the
    stylesheet (a viewBox, no fixed size)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(border=2, title=label, svgclass="qr", lineclass=None, omitsize=True)
    # segno escapes the title; the rest is its own markup.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704


class _NoFetch(URLFetcher):  # type: ignore[misc]
    """Refuses every URL: the PDF is made from the page and the stylesheet alone."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError(f"the PDF renderer fetches nothing ({url[:60]})")


def html_to_pdf(html: str) -> bytes:
    """The page as PDF, with the print stylesheet; CPU-bound (call it off the event loop)."""
    with _RENDERING:
        stylesheet = CSS(string=PRINT_CSS.read_text(encoding="utf-8"), url_fetcher=_NoFetch())
        document = HTML(string=html, url_fetcher=_NoFetch(), media_type="print")
        pdf: bytes = document.write_pdf(stylesheets=[stylesheet])
    return pdf


async def pdf_of(html: str) -> bytes:
    """`html_to_pdf` in a worker thread, so the web process keeps answering meanwhile."""
    return await asyncio.to_thread(html_to_pdf, html)
