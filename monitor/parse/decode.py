"""Bytes to text: refuse what is not HTML, then find the charset that really fits.

Order of trust, chosen because servers and pages lie about charsets in practice:
a byte-order mark; strict UTF-8 when the bytes contain multi-byte sequences (legacy
charsets almost never produce valid UTF-8 by accident, while "iso-8859-1" labels on UTF-8
pages are common); the HTTP header; the page's own ``<meta charset>``; charset-normalizer's
guess; and finally cp1252 with replacement characters, which never fails.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib

from monitor.errors import ParseError

#: Text beyond this many characters is cut: no real article page needs more once its
#: scripts and styles are gone, and it bounds the time and memory of everything after.
MAX_CHARS = 3_000_000
#: Compressed input is inflated up to this many bytes at most (stops gzip bombs).
MAX_INFLATED = 64 * 1024 * 1024

_MAGIC = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or an office document)",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"RIFF": "a RIFF media file",
    b"\x00\x00\x00": "a binary (media) file",
    b"OggS": "an Ogg media file",
    b"ID3": "an MP3 file",
    b"\x7fELF": "an executable",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]{2,40})""", re.IGNORECASE
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,100}encoding\s*=\s*["']([a-zA-Z0-9_.\-]{2,40})""")
_WESTERN_PUNCT = frozenset(
    "\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u20ac\u2022\xa0\xab\xbb\xa9\xae\xb0\xb7"
)
_NON_ASCII_TEXT = re.compile(r"[^\x00-\x7f]")
_FIRST_CHAR = re.compile(r"\s*(\S)")
_MARKUP = re.compile(r"<\s*[a-zA-Z!?/]")
_BULKY = re.compile(
    r"<script\b[^>]*>.*?</script\s*>|<style\b[^>]*>.*?</style\s*>|<!--.*?-->|<svg\b[^>]*>.*?</svg\s*>",
    re.IGNORECASE | re.DOTALL,
)


def decode_html(data: bytes | str, encoding: str | None = None) -> str:
    """Return the page as text, or raise ``ParseError`` when it is not an HTML page."""
    if isinstance(data, str):
        text = data
    else:
        data = _inflate(data)
        _refuse_binary(data)
        text = _decode(data, encoding)
    text = text.lstrip("\ufeff")
    if not text or text.isspace():
        raise ParseError("empty document")
    head = _FIRST_CHAR.match(text)
    if head is not None and head.group(1) in ("{", "[") and _is_json(text):
        raise ParseError("JSON document, not an HTML page")
    if _MARKUP.search(text[:65536]) is None:
        raise ParseError("no HTML markup in document")
    if text.count("\x00", 0, 65536) > 16:
        raise ParseError("binary document, not an HTML page")
    return bound_size(text)


def bound_size(text: str) -> str:
    """Drop scripts, styles and comments from an oversized page, then cut it to ``MAX_CHARS``."""
    if len(text) <= MAX_CHARS:
        return text
    # Keep JSON-LD: it is small and carries the metadata we trust most.
    text = _BULKY.sub(_keep_json_ld, text)
    return text[:MAX_CHARS]


def _keep_json_ld(match: re.Match[str]) -> str:
    chunk = match.group(0)
    if "ld+json" in chunk[:200] and len(chunk) < 200_000:
        return chunk
    return ""


def _inflate(data: bytes) -> bytes:
    """Undo gzip/zlib that a client forgot to remove; bounded so a bomb cannot blow up."""
    if data[:2] != b"\x1f\x8b":
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        raise ParseError(f"corrupt gzip data: {exc}") from None
    if inflater.unconsumed_tail:
        raise ParseError("compressed document larger than the inflation limit")
    if not out and not inflater.eof:
        raise ParseError("truncated gzip data")
    return out


def _refuse_binary(data: bytes) -> None:
    head = data[:16].lstrip()
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise ParseError(f"{what}, not an HTML page")
    if any(data.startswith(bom) for bom, _ in _BOMS):
        return
    sample = data[:8192]
    if sample.count(0) > 16:
        raise ParseError("binary document, not an HTML page")


def _decode(data: bytes, header_charset: str | None) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    if data[:2_000_000].isascii():
        return data.decode("ascii", errors="replace")
    utf8 = _try(data, "utf-8")
    if utf8 is not None:
        return utf8
    for candidate in (header_charset, _declared(data)):
        codec = _codec(candidate)
        if codec is None or codec == "utf-8":
            continue
        decoded = _try(data, codec)
        if decoded is not None:
            return decoded
    western = _try(data, "cp1252")
    if western is not None and _looks_western(western):
        return western
    guessed = _guess(data)
    if guessed is not None:
        return guessed
    return data.decode("cp1252", errors="replace")


def _looks_western(text: str) -> bool:
    """True when the non-ASCII characters read as Western European letters and punctuation.

    Undeclared pages are mostly windows-1252 (the WHATWG default for Western locales), and
    statistical detectors confuse it with other single-byte codecs on short texts; text in
    another codec decoded as cp1252 shows symbols such as ``³ ¿ ¹`` instead of letters.
    """
    chars = _NON_ASCII_TEXT.findall(text, 0, 500_000)
    odd = sum(
        1 for c in chars if c not in _WESTERN_PUNCT and not ("\xc0" <= c <= "\xff" and c not in "\xd7\xf7")
    )
    return bool(chars) and odd <= len(chars) * 0.05


def _declared(data: bytes) -> str | None:
    head = data[:4096]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _codec(label: str | None) -> str | None:
    """Map a charset label to a Python codec, following the WHATWG aliases that matter."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("'\"").lower()).name
    except LookupError:
        return None
    # Browsers decode latin-1 and ascii labels as windows-1252, and so must we.
    if name in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    return name


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess(data: bytes) -> str | None:
    """charset-normalizer's best guess, or None when it has none."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding is None:
        return None
    return data.decode(best.encoding, errors="replace")


def _is_json(text: str) -> bool:
    try:
        json.loads(text[:MAX_CHARS])
    except ValueError:
        return "<" not in text[:2048]
    return True
