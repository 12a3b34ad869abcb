"""Settings and vocabulary of the readers: :class:`Limits` (every size bound, a setting with a default), aliases of
tables and parameters, the yes/no and missing-code words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

from ..schema import NO_WORDS, YES_WORDS


# --------------------------------------------------------------------------------------------------------------
# Settings and vocabulary
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Limits on what one upload may hold; anything beyond them is refused with an error message.

    Parameters
    ----------
    max_file_bytes : int
        Largest accepted file, in bytes (each file of an upload).
    max_rows : int
        Most data rows in one table (not counting the header).
    max_columns : int
        Most columns in one table.
    max_uncompressed_bytes : int
        XLSX only: the largest sum of the declared uncompressed sizes of the workbook's zip members, checked
        before anything is parsed (a defence against "zip bombs").
    max_compression_ratio : float
        XLSX only: the largest uncompressed / compressed size ratio accepted for a zip member larger than
        1 MiB (real workbooks compress about 5-20 times; deflate bombs about 1000 times).
    max_label_chars : int
        Longest identifier or label, in characters (after surrounding whitespace is removed): patient
        identifiers, treatment arms, questionnaire instruments and scales, adverse events, drug classes and
        the other text columns of the known tables. A longer value is an error naming file, column, row and
        the length found.
    max_cell_chars : int
        Longest cell of any column, in characters (free-text columns that are kept or ignored included),
        checked as soon as the file is read, before anything else is done with it.

    Examples
    --------
    >>> Limits(max_rows=100).max_rows
    100
    """

    max_file_bytes: int = 50 * 2**20
    max_rows: int = 2_000_000
    max_columns: int = 500
    max_uncompressed_bytes: int = 200 * 2**20
    max_compression_ratio: float = 200.0
    max_label_chars: int = 200
    max_cell_chars: int = 10_000


#: File extensions read as data, by format.
DATA_EXTENSIONS: dict[str, str] = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
                                   ".parquet": "parquet", ".pq": "parquet"}

#: Sheet names and file stems that say which table a sheet or file holds (compared after normalise_name).
TABLE_ALIASES: dict[str, tuple[str, ...]] = {
    "diary": ("diary", "diaries", "pain_diary", "daily_diary", "daily", "daily_pain", "pain", "pain_scores",
              "nrs"),
    "patients": ("patients", "patient", "subjects", "subject", "participants", "demographics", "demography",
                 "demog", "dm", "adsl", "baseline"),
    "questionnaires": ("questionnaires", "questionnaire", "qs", "adqs", "scores", "scales"),
    "adverse_events": ("adverse_events", "adverse_event", "ae", "aes", "adae", "adverse", "side_effects",
                       "safety"),
    "analgesics": ("analgesics", "analgesic", "extra_analgesics", "rescue", "rescue_medication",
                   "rescue_analgesics", "medications", "medication", "concomitant", "concomitant_medications",
                   "cm", "adcm"),
}

#: CDISC ADaM BDS parameter codes (upper case, letters and digits only) -> diary outcome.
PARAMCD_ALIASES: dict[str, str] = {
    **{c: "pain_average" for c in ("PAINAVG", "AVGPAIN", "NRSAVG", "PAIN", "PAINAV", "PAINAVERAGE",
                                   "AVERAGEPAIN", "NRS", "NRSAVERAGE", "PAINMEAN", "MEANPAIN")},
    **{c: "pain_max" for c in ("PAINMAX", "MAXPAIN", "NRSMAX", "PAINMAXIMUM", "MAXIMUMPAIN", "PAINWORST",
                               "WORSTPAIN")},
    **{c: "pain_night" for c in ("PAINNGT", "PAINNIGHT", "NIGHTPAIN", "NGTPAIN", "NRSNGT", "NRSNIGHT",
                                 "PAINNITE")},
}

#: ADaM day variables, in order of preference: relative to the period's start, then the study day.
_BDS_PERIOD_DAY = ("aperdy", "aperday", "areldy", "aprdy", "aprelday", "apdy", "day_in_period", "diary_day",
                   "day")
_STUDY_DAY = ("ady", "study_day")
_BDS_PATIENT = ("usubjid", "subjid")
_BDS_PERIOD = ("aperiod",)
_BDS_TREATMENT = ("trta", "trtp")

#: Values read as yes / no in the adverse-event flags.
_TRUE = YES_WORDS
_FALSE = NO_WORDS
#: Missing-value codes that people type into pain cells.
_MISSING_CODES = frozenset({99.0, 999.0, 9999.0, -1.0, -9.0, -99.0, -999.0, 98.0, 88.0})
_BASELINE_WORDS = frozenset({"baseline", "bl", "base", "screening", "inclusion", "0"})

#: At most this many row numbers are stored in one message; ``count`` always has the full number.
MAX_ROWS_LISTED = 1000
_LIST_LIMIT = 10          # items named in one message's text
_MAX_ECHO = 80            # longest value echoed in a message (longer ones are cut, with their length)
_MAX_TEXT = 2_000         # longest message text, and longest 'value' of a message (a safety net)
_MAX_FILE_NAME = 300      # longest file name (or list of names) a message repeats
_MAX_NAME = 100           # longest column name kept as is
_CTRL = bytes(range(0, 9)) + bytes(range(14, 27)) + bytes(range(28, 32))  # control bytes, not tab/CR/LF/ESC
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, or an encrypted workbook
_DEC_COMMA = r"[+-]?(?:\d+,\d*|,\d+)"
_PERIOD_TEXT = re.compile(r"^(?:period|per|p)?[\s_]*0*(\d+)$", re.IGNORECASE)

#: Extensions read from a folder by read_path (not .txt, which is often notes), and stems that are not data.
_FOLDER_EXTENSIONS = frozenset(e for e in DATA_EXTENSIONS if e != ".txt")
_NOT_DATA = re.compile(r"dictionary|readme|codebook|metadata", re.IGNORECASE)

FilesArg = Union[Mapping[str, Any], Sequence[Any]]
