"""Text from a data file made safe to keep, show and print: invisible and control characters.

One place for the character sets and the three operations on them (issue [9]):

* :func:`clean_label` - what the readers keep for an identifier or label: Unicode NFC, zero-width and bidi
  controls removed, control characters removed (whitespace controls such as a tab become a space);
* :func:`escape_controls` - what the command line prints: every control, zero-width and bidi character shown
  as a visible escape (``\\x1b``, ``\\u200b``), so that no data can move the cursor, clear the terminal or
  reverse the text, while the rest stays as it was;
* :func:`shorten` - what a message echoes of a value: at most a few dozen characters, and the length.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["INVISIBLE", "CONTROL", "UNSAFE", "clean_label", "escape_controls", "escape_label", "shorten",
           "needs_cleaning"]

#: Zero-width characters, word joiner, byte-order mark and the bidirectional controls (embeddings, overrides,
#: isolates, marks): they change how text looks or reads without being visible themselves.
INVISIBLE = ("\u200b-\u200f"        # zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
             "\u202a-\u202e"        # bidi embeddings and overrides
             "\u2060-\u2064"        # word joiner and invisible operators
             "\u2066-\u2069"        # bidi isolates
             "\u061c"               # Arabic letter mark
             "\ufeff")              # byte-order mark / zero-width no-break space
#: C0 controls, DEL and C1 controls, plus the Unicode line and paragraph separators.
CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
#: Everything that is never kept in a label and never printed raw to a terminal.
UNSAFE = INVISIBLE + CONTROL

_UNSAFE_RE = re.compile(f"[{UNSAFE}]")
_WS_CONTROL_RE = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_INVISIBLE_OR_CONTROL_RE = re.compile(f"[{UNSAFE}]+")
#: What escape_controls escapes: as UNSAFE, but newline and tab are kept (they lay out the output).
_PRINT_UNSAFE_RE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{INVISIBLE}]")


def needs_cleaning(text: str) -> bool:
    """Whether :func:`clean_label` would change ``text`` (beyond surrounding whitespace).

    >>> needs_cleaning("Placebo"), needs_cleaning("B\\u200b"), needs_cleaning("e\\u0301")
    (False, True, True)
    """
    if text.isascii():
        return _UNSAFE_RE.search(text) is not None
    return _UNSAFE_RE.search(text) is not None or not unicodedata.is_normalized("NFC", text)


def clean_label(text: str) -> str:
    """An identifier or label as the readers keep it.

    Unicode NFC (a composed and a decomposed ``é`` are the same letter); whitespace controls (tab, newline,
    line separator...) become one space; other control characters, zero-width characters and bidi controls
    are removed; surrounding whitespace is stripped.

    >>> clean_label("B\\u200b"), clean_label("Drug\\x1b[2J"), clean_label("A\\x00x"), clean_label("a\\tb")
    ('B', 'Drug[2J', 'Ax', 'a b')
    >>> clean_label("Caf\\u0065\\u0301") == "Caf\\u00e9"
    True
    """
    out = _WS_CONTROL_RE.sub(" ", text)
    out = _INVISIBLE_OR_CONTROL_RE.sub("", out)
    return unicodedata.normalize("NFC", out).strip()


def _escape_char(m: re.Match) -> str:
    c = m.group(0)
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control, zero-width and bidi character written as a visible escape; newline and tab
    are kept. This is what the command line prints (summaries, messages, CSV): the data stays recognisable
    (``ESC`` becomes the four characters ``\\x1b``) and can never act on the terminal.

    >>> escape_controls("Drug\\x1b[2J\\n")
    'Drug\\\\x1b[2J\\n'
    >>> escape_controls("B\\u200b, \\u202eabc")
    'B\\\\u200b, \\\\u202eabc'
    """
    if text.isascii() and text.isprintable():
        return text
    return _PRINT_UNSAFE_RE.sub(_escape_char, text)


def escape_label(text: str) -> str:
    """A label quoted for a message, with invisible, control and combining characters escaped, so that two
    labels that look the same show how they differ.

    >>> escape_label("B\\u200b"), escape_label("B"), escape_label("e\\u0301")
    ("'B\\\\u200b'", "'B'", "'e\\\\u0301'")
    """
    out = []
    for c in text:
        if _UNSAFE_RE.match(c) or unicodedata.combining(c) or not c.isprintable():
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
        elif c in "'\\":
            out.append("\\" + c)
        else:
            out.append(c)
    return "'" + "".join(out) + "'"


def shorten(text: str, limit: int = 80) -> str:
    """At most ``limit`` characters of ``text``; a longer text is cut, with an ellipsis and its length.

    >>> shorten("abc"), shorten("x" * 100, 10)
    ('abc', 'xxxxxxxxxx... (100 characters)')
    """
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"
