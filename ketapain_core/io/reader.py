"""The public face: :func:`read_trial` (bytes of one or more files) and :func:`read_path` (a file or a folder),
with bounded reads.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath
from typing import Any, Mapping, Optional, Union

import pandas as pd

from ..schema import DIARY_REQUIRED, TABLES, Message, Trial, ValidationReport

from .limits import DATA_EXTENSIONS, FORMATS_TEXT, FilesArg, Limits, _FOLDER_EXTENSIONS, _NOT_DATA, _OLE2
from .collector import _Collector, _plural
from .raw import _Raw
from .sniff import _NOT_CSV_MAGIC, _describe, _not_what_named, _preview
from .formats import _read_csv, _read_parquet, _read_xlsx
from .routing import _is_bds, _route
from .statfiles import _read_stat
from .datasetjson import _read_dataset_json
from .wide import _long_from_wide
from .diary import _diary_bds, _diary_wide, _finalise_diary
from .optional import _cross_checks, _optional_table


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------
def _as_items(files: FilesArg) -> list[tuple[str, bytes]]:
    """Normalise the ``files`` argument to (name, bytes) pairs; a wrong type is a programmer error."""
    if isinstance(files, (bytes, bytearray, str)):
        raise TypeError("files must be a mapping {file name: bytes} or a sequence of (name, bytes), not "
                        f"{type(files).__name__}")
    items: list[tuple[str, bytes]] = []
    pairs = files.items() if isinstance(files, Mapping) else files
    for item in pairs:
        if isinstance(item, tuple) and len(item) == 2:
            name, data = item
        elif hasattr(item, "name") and (hasattr(item, "getvalue") or hasattr(item, "read")):
            name, data = item.name, item
        else:
            raise TypeError(f"each file must be a (name, bytes) pair or an uploaded-file object; got {item!r:.80}")
        if hasattr(data, "getvalue"):
            data = data.getvalue()
        elif hasattr(data, "read"):
            data = data.read()
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise TypeError(f"the content of {name!r} must be bytes, not {type(data).__name__}")
        items.append((str(name), data))
    return items


def _read_one(coll: _Collector, name: str, data: bytes, limits: Limits) -> list[_Raw]:
    if len(data) > limits.max_file_bytes:
        coll.error(name, f"the file is too large: {len(data) / 2**20:,.1f} MiB (the limit is "
                         f"{limits.max_file_bytes / 2**20:,.1f} MiB)", value=f"{len(data):,} bytes",
                   expected=f"at most {limits.max_file_bytes:,} bytes")
        coll.file_errors += 1
        return []
    ext = PurePath(name).suffix.lower()
    kind = DATA_EXTENSIONS.get(ext)
    if kind is None:
        what, _ = _describe(data)
        coll.error(name, f"unsupported file type {ext or '(no extension)'!r}; the file looks like {what}",
                   value=_preview(data), expected=FORMATS_TEXT)
        coll.file_errors += 1
        return []
    if not data:
        coll.error(name, "the file is empty (0 bytes)", expected="a header row with column names, then data rows")
        coll.file_errors += 1
        return []
    if kind == "csv":
        if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PAR1") or data[:8] == _OLE2 \
                or data.startswith(_NOT_CSV_MAGIC):
            _not_what_named(coll, name, data, ext, "comma- or semicolon-separated text")
            return []
        return _read_csv(coll, name, data, limits)
    if kind == "xlsx":
        return _read_xlsx(coll, name, data, limits)
    if kind in ("xpt", "sas7bdat", "dta", "sav"):
        return _read_stat(coll, name, data, limits, kind)
    if kind in ("json", "ndjson"):
        return _read_dataset_json(coll, name, data, limits, ndjson=kind == "ndjson")
    return _read_parquet(coll, name, data, limits)


def read_trial(files: FilesArg, *, period_days: int = 35,
               limits: Limits = Limits()) -> tuple[Optional[Trial], ValidationReport]:
    """Read and validate an upload: the diary and any optional tables, from CSV, XLSX, Parquet, SAS, Stata, SPSS
    or Dataset-JSON bytes.

    Parameters
    ----------
    files : mapping or sequence
        ``{file name: bytes}``, or a sequence of ``(name, bytes)`` pairs (uploaded-file objects with ``name``
        and ``getvalue()`` are accepted too). The extension says the format: ``.csv`` (comma, semicolon or tab
        separated; UTF-8 with or without BOM, else latin-1), ``.xlsx``, ``.parquet``, ``.xpt`` (SAS transport v5
        or v8), ``.sas7bdat``, ``.dta`` (Stata), ``.sav`` / ``.zsav`` (SPSS), ``.json`` / ``.ndjson`` (CDISC
        Dataset-JSON 1.1). A wide diary (one row per patient-period, columns ``day1`` .. ``day35``) and a REDCap
        repeating-instrument export are turned into the long diary first (see :mod:`ketapain_core.io.wide`).
        One file or one sheet is the diary; further tables are told apart by file stem or sheet name
        (``diary``, ``patients``, ``questionnaires``, ``adverse_events``, ``analgesics`` and aliases in
        :data:`TABLE_ALIASES`), else by their columns.
    period_days : int
        Period length D: days 1..D are the diary (later days are kept, counted, and ignored by the AUC).
    limits : Limits
        Size limits; see :class:`Limits`.

    Returns
    -------
    trial : Trial or None
        The validated trial, or None when the report has errors.
    report : ValidationReport
        Every error, warning and note, with file, column, row numbers (header = row 1) and what was expected,
        the column mapping found for each table, and the variables' labels and formats of the SAS, Stata, SPSS
        and Dataset-JSON files (``report.variables``).

    Examples
    --------
    >>> csv = b"Subject;Period;Arm;Day;Pain\\n007;1;Placebo;1;6,5\\n007;1;Placebo;2;NA\\n"
    >>> trial, report = read_trial({"diary.csv": csv})
    >>> trial.diary
      patient  period treatment  day  pain_average
    0     007       1   Placebo    1           6.5
    1     007       1   Placebo    2           NaN
    >>> report.mappings["diary"]["Pain"]
    'pain_average'
    >>> trial, report = read_trial({"diary.csv": b"patient,period,treatment,day,pain\\n1,1,A,1,99\\n"})
    >>> trial is None, report.errors[0].rows, report.errors[0].column
    (True, (2,), 'pain')
    """
    if int(period_days) != period_days or period_days < 1:
        raise ValueError(f"period_days must be a whole number >= 1; got {period_days!r}")
    period_days = int(period_days)
    coll = _Collector(limits)
    items = _as_items(files)
    if not items:
        coll.error("(upload)", "no file given", expected="a diary file (" + FORMATS_TEXT[2:] + ")")
        return None, coll.report()
    raws: list[_Raw] = []
    for name, data in items:
        raws.extend(_long_from_wide(coll, raw) for raw in _read_one(coll, name, data, limits))
    routed = _route(coll, raws) if raws else {}
    if "diary" not in routed:
        if coll.file_errors == 0 and not any(m.text.startswith("more than one diary") for m in coll.messages):
            found = ", ".join(f"{r.label} ({t})" for t, r in routed.items()) or "none"
            coll.error(", ".join(n for n, _ in items), "no diary found: none of the files or sheets is the diary "
                                                     f"(tables found: {found})",
                       expected="a file or sheet named 'diary', or with the columns "
                                + ", ".join(DIARY_REQUIRED))
        return None, coll.report()
    diary_raw = routed["diary"]
    if _is_bds(diary_raw):
        diary = _diary_bds(coll, diary_raw, period_days)
    else:
        diary = _diary_wide(coll, diary_raw, period_days)
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES[1:]:
        if table in routed:
            frame = _optional_table(coll, table, routed[table])
            if frame is not None:
                tables[table] = frame
    if diary is None or coll.n_errors():
        return None, coll.report()
    diary = _finalise_diary(diary)
    _cross_checks(coll, diary, tables, routed)
    coll.info(diary_raw.label, f"diary: {_plural(len(diary), 'row')}, {_plural(diary['patient'].nunique(), 'patient')}"
                               f", {_plural(diary['period'].nunique(), 'period')}, arms "
                               + ", ".join(map(repr, sorted(diary["treatment"].unique()))), count=len(diary))
    clean = {t: f.drop(columns="_row").reset_index(drop=True) for t, f in tables.items()}
    trial = Trial(diary=diary, patients=clean.get("patients"), questionnaires=clean.get("questionnaires"),
                  adverse_events=clean.get("adverse_events"), analgesics=clean.get("analgesics"),
                  period_days=period_days, source=", ".join(n for n, _ in items))
    return trial, coll.report()


def read_path(path: Union[str, os.PathLike], **kw: Any) -> tuple[Optional[Trial], ValidationReport]:
    """Read a trial from a file, or from a folder whose data files (csv/xlsx/parquet/xpt/...) are read together.

    Parameters
    ----------
    path : str or os.PathLike
        A data file, or a folder (e.g. ``data/simulated/``): every ``.csv``, ``.tsv``, ``.txt``, ``.xlsx`` and
        ``.parquet`` file directly in it (and the SAS, Stata, SPSS and Dataset-JSON files: a ``.json`` file only
        when it says ``datasetJSONVersion`` in its first 64 KiB) is read as one upload (hidden files, Excel lock
        files ``~$*`` and files named like a data dictionary, codebook or readme are skipped; skipped files are
        listed in an info message).
    **kw
        ``period_days`` and ``limits``, as for :func:`read_trial`.

    Returns
    -------
    trial : Trial or None
    report : ValidationReport

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "diary.csv").write_text("patient,period,treatment,day,pain_average\\n1,1,A,1,4\\n")
    >>> trial, report = read_path(folder)
    >>> trial.source, trial.diary["pain_average"].tolist()
    ('diary.csv', [4.0])
    """
    limits: Limits = kw.get("limits", Limits())
    p = Path(path)
    coll = _Collector()
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file())
        data_files = [f for f in files if f.suffix.lower() in _FOLDER_EXTENSIONS
                      and not f.name.startswith((".", "~$")) and not _NOT_DATA.search(f.stem)
                      and (f.suffix.lower() not in (".json", ".ndjson") or _is_dataset_json(f))]
        other = [f.name for f in files if f not in data_files and not f.name.startswith(".")]
        other += [f"{f.name} (not a regular file)" for f in sorted(p.iterdir())
                  if not f.is_file() and not f.is_dir() and not f.name.startswith(".")]  # FIFO, device, socket
        if not data_files:
            coll.error(str(p), "the folder has no data file", expected=FORMATS_TEXT.replace(" file", " files")[2:])
            return None, coll.report()
        items = []
        for f in data_files:
            data = _read_file_bounded(coll, f, f.name, limits)
            if data is None:
                return None, coll.report()
            items.append((f.name, data))
        trial, report = read_trial(items, **kw)
        if other:
            note = Message(level="info", file=str(p), count=len(other),
                           text="files that are not data tables ignored: " + ", ".join(other))
            report = ValidationReport(messages=report.messages + (note,), mappings=report.mappings,
                                      variables=report.variables)
        return trial, report
    if not p.exists():
        coll.error(str(p), "no such file or folder", expected=FORMATS_TEXT + ", or a folder of them")
        return None, coll.report()
    data = _read_file_bounded(coll, p, str(p), limits)
    if data is None:
        return None, coll.report()
    return read_trial([(p.name, data)], **kw)


def _is_dataset_json(path: Path) -> bool:
    """Whether a .json file in a folder is a Dataset-JSON (other JSON files there are notes, not data)."""
    try:
        with open(path, "rb") as fh:
            return b"datasetJSONVersion" in fh.read(65536)
    except OSError:
        return True  # let the bounded read report it


_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_file_bounded(path: Union[str, os.PathLike], max_bytes: int) -> bytes:
    """The bytes of a regular file, reading at most ``max_bytes + 1`` bytes whatever the file says its size is.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_bytes : int
        The most bytes accepted.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        When ``path`` is not a regular file (a pipe, a device such as ``/dev/zero``, a socket, a folder), or
        holds more than ``max_bytes`` bytes; the message says which.
    OSError
        When the file cannot be opened or read.

    Examples
    --------
    >>> import tempfile, os
    >>> fd, name = tempfile.mkstemp(); _ = os.write(fd, b"abc"); os.close(fd)
    >>> read_file_bounded(name, 10)
    b'abc'
    >>> read_file_bounded("/dev/zero", 10)
    Traceback (most recent call last):
    ...
    ValueError: not a regular file but a character device
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open descriptor
    fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((what for test, what in _FILE_KINDS if test(mode)),
                        "a folder" if stat.S_ISDIR(mode) else "a special file")
            raise ValueError(f"not a regular file but {kind}")
        chunks, n = [], 0
        while n <= max_bytes:
            chunk = os.read(fd, min(max_bytes + 1 - n, 4 * 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            n += len(chunk)
        if n > max_bytes:
            raise ValueError(f"more than {max_bytes:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_file_bounded(coll: _Collector, path: Path, label: str, limits: Limits) -> Optional[bytes]:
    """:func:`read_file_bounded` with its failures as error messages."""
    try:
        return read_file_bounded(path, limits.max_file_bytes)
    except ValueError as exc:
        if str(exc).startswith("more than"):
            coll.error(label, f"the file is too large: more than {limits.max_file_bytes / 2**20:,.1f} MiB (the "
                              "limit)", expected=f"at most {limits.max_file_bytes:,} bytes")
        else:
            coll.error(label, f"cannot read it: {exc}; only regular files (or a folder of them) are read",
                       expected=FORMATS_TEXT + ", or a folder of them")
    except OSError as exc:
        coll.error(label, f"cannot read the file: {exc.strerror or exc}", expected="a readable file")
    return None
