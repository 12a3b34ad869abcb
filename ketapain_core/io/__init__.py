"""Uploaded bytes (CSV, XLSX, Parquet, SAS, Stata, SPSS, Dataset-JSON) -> a validated :class:`~ketapain_core.schema.Trial` and a report.

This package implements the data contract (docs/data.md). Every cell is read as text and parsed here, so nothing
is changed silently: patient identifiers stay text exactly as given (only surrounding whitespace is removed,
``"007"`` stays ``"007"``), a cell that is blank or holds one of :data:`schema.MISSING_TOKENS` is missing, and
every row that is dropped or changed is counted in the :class:`~ketapain_core.schema.ValidationReport`.

Row numbers in messages are those a spreadsheet shows: the header is row 1, so the first data row is row 2
(for a workbook, within its sheet, and the message's ``file`` reads like ``"trial.xlsx [diary]"``; for Parquet
the same convention is used; for SAS, Stata, SPSS and Dataset-JSON files the row is the observation number, the
first observation being row 1). Rows with the same problem are grouped into one message: ``count`` is the number
of rows concerned and ``rows`` lists them (the first :data:`MAX_ROWS_LISTED` of them).

One module per concern, each importing only the ones above it:

- ``limits``: :class:`Limits` and the readers' vocabulary (table and parameter aliases, extensions)
- ``collector``: messages on their way to the report
- ``raw``: a file or sheet as text cells with spreadsheet row numbers
- ``sniff``: what bytes are, text decoding
- ``formats``: CSV, XLSX and Parquet decoding
- ``typed``: typed columns (numbers, dates, value labels) of the statistical formats as text cells
- ``statfiles``: SAS transport (.xpt v5/v8), SAS datasets (.sas7bdat), Stata (.dta), SPSS (.sav) via pyreadstat
- ``datasetjson``: CDISC Dataset-JSON 1.1 (.json, .ndjson) via the standard JSON parser
- ``cells``: numbers, integers, missing codes
- ``labels``: identifiers and labels (cleaning, bounds, look-alikes)
- ``columns``: column mapping and aliases
- ``wide``: wide diaries (day1..day35) and REDCap repeating-instrument exports, to the long diary
- ``routing``: files and sheets to tables
- ``diary``: the long and ADaM diary
- ``optional``: the optional tables and the checks across tables
- ``reader``: :func:`read_trial`, :func:`read_path`, :func:`read_file_bounded`

Public API: :class:`Limits`, :func:`read_trial`, :func:`read_path`, :func:`read_file_bounded`.
"""
from __future__ import annotations

from .formats import _parquet_bounded  # noqa: F401  (tested directly)
from .limits import (DATA_EXTENSIONS, FORMAT_NAMES, MAX_ROWS_LISTED, PARAMCD_ALIASES, TABLE_ALIASES, FilesArg,
                     Limits)
from .reader import read_file_bounded, read_path, read_trial

__all__ = ["Limits", "read_trial", "read_path", "read_file_bounded", "TABLE_ALIASES", "PARAMCD_ALIASES",
           "DATA_EXTENSIONS", "FORMAT_NAMES", "MAX_ROWS_LISTED", "FilesArg"]
