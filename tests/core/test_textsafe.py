"""Invisible and control characters (issue [9]): what labels keep, what the terminal is shown."""
import unicodedata

import pytest

from ketapain_core.textsafe import UNSAFE, clean_label, escape_controls, escape_label, needs_cleaning, shorten

ZERO_WIDTH_AND_BIDI = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", *map(chr, range(0x202a, 0x202f)),
                       *map(chr, range(0x2066, 0x206a))]


@pytest.mark.parametrize("ch", ZERO_WIDTH_AND_BIDI + ["\x00", "\x1b", "\x7f", "\x85", "\x9b"])
def test_clean_label_removes_invisible_and_control_characters(ch):
    assert needs_cleaning("B" + ch)
    assert clean_label("B" + ch) == "B" and clean_label(ch + "B" + ch + ch) == "B"


def test_clean_label_nfc_and_whitespace_controls():
    assert clean_label("Cafe\u0301") == "Caf\u00e9" == unicodedata.normalize("NFC", "Cafe\u0301")
    assert clean_label("a\tb\nc") == "a b c"
    assert not needs_cleaning("Ketamine/Mg") and not needs_cleaning("Kétamine")


def test_escape_controls_keeps_layout_and_makes_everything_else_visible():
    text = "Drug\x1b[2J\tB\u200b\r\x00\u202e\n"
    out = escape_controls(text)
    assert out == "Drug\\x1b[2J\tB\\u200b\\x0d\\x00\\u202e\n"
    assert not any(c in out for c in UNSAFE if c not in "\n\t")
    assert escape_controls("plain, ascii\n") == "plain, ascii\n"


def test_escape_label_and_shorten():
    assert escape_label("B\u200b") == "'B\\u200b'" and escape_label("e\u0301") == "'e\\u0301'"
    assert shorten("x" * 2_000_000, 80) == "x" * 80 + "... (2,000,000 characters)"
