"""Small valid PDFs for sandboxes: invoices, labels and delivery notes that clients can open."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["make_pdf"]


def _text(value: str) -> str:
    # PDF string literal in WinAnsi (Latin-1 covers German umlauts); escape the delimiters.
    latin = value.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str, lines: Iterable[str] = ()) -> bytes:
    """A one-page PDF (Helvetica) with a title and text lines, and a correct xref table."""
    rows = [f"BT /F1 16 Tf 56 780 Td ({_text(title)}) Tj ET"]
    for n, line in enumerate(lines):
        rows.append(f"BT /F1 10 Tf 56 {750 - 14 * n} Td ({_text(line)}) Tj ET")
    stream = "\n".join(rows).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
