"""Write the upload templates of KETAPAIN Explorer (deterministic: same bytes on every run).

    python data/templates/make_templates.py

writes, next to this script, one CSV per table (``diary_template.csv``, ``patients_template.csv``,
``questionnaires_template.csv``, ``adverse_events_template.csv``, ``analgesics_template.csv``) and
``trial_template.xlsx`` with one sheet per table. README.md in this folder describes every column.
Only the standard library and openpyxl are used.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Optional, Sequence

HERE = Path(__file__).resolve().parent

#: Fixed timestamp for the workbook's properties and zip entries, so the bytes never change.
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_FIXED_ISO = "2020-01-01T00:00:00Z"

Row = Sequence[Optional[object]]


def _diary_rows() -> list[Row]:
    """Two patients, three periods, days 0 (pre-infusion baseline), 1, 2 and 3; one blank pain cell."""
    arms = {"001": ("Placebo", "Ketamine", "Ketamine/Mg"), "002": ("Ketamine/Mg", "Placebo", "Ketamine")}
    pain = {  # (patient, period) -> average pain on days 0..3
        ("001", 1): (7, 6.5, 6, 6.5), ("001", 2): (7, 5, 5.5, 6), ("001", 3): (6.5, 5.5, 6, 6),
        ("002", 1): (6, 5, 5, 4.5), ("002", 2): (6, 6, 5.5, 6), ("002", 3): (6.5, 4.5, 5, 5),
    }
    rows: list[Row] = []
    for patient, treatments in arms.items():
        for period, treatment in enumerate(treatments, start=1):
            for day, avg in enumerate(pain[(patient, period)]):
                value: Optional[float] = avg
                if (patient, period, day) == ("001", 1, 2):
                    value = None  # a day without a recorded average pain: leave the cell blank
                rows.append((patient, period, treatment, day, value, min(avg + 1.5, 10), max(avg - 1, 0)))
    return rows


TABLES: dict[str, tuple[tuple[str, ...], list[Row]]] = {
    "diary": (("patient", "period", "treatment", "day", "pain_average", "pain_max", "pain_night"), _diary_rows()),
    "patients": (
        ("patient", "sex", "age", "weight", "height", "pain_type", "pain_duration_years", "dn4"),
        [("001", "F", 54, 68.5, 1.64, "post-surgery", 4, 6),
         ("002", "M", 61, 82, 1.78, "radiculopathy", 9.5, 5)],
    ),
    "questionnaires": (
        ("patient", "timepoint", "instrument", "scale", "value"),
        [("001", "baseline", "HADS", "anxiety", 9), ("001", "baseline", "HADS", "depression", 8),
         ("001", 1, "HADS", "anxiety", 8), ("001", 2, "HADS", "anxiety", 7), ("001", 3, "HADS", "anxiety", 7),
         ("001", "baseline", "PSQI", "global", 12), ("001", 1, "PSQI", "global", None),
         ("002", "baseline", "HADS", "anxiety", 11), ("002", 1, "HADS", "anxiety", 10)],
    ),
    "adverse_events": (
        ("patient", "period", "event", "related", "serious"),
        [("001", 2, "fatigue", "yes", "no"), ("001", 2, "nausea", "yes", "no"),
         ("002", 1, "dizziness", "yes", "no"), ("002", 2, "headache", "no", "no")],
    ),
    "analgesics": (
        ("patient", "period", "drug_class"),
        [("001", 1, "paracetamol/NSAIDs"), ("002", 2, "nefopam")],
    ),
}


def _cell(v: Optional[object]) -> object:
    """A blank cell for None; whole floats without a trailing .0 (8.0 -> 8)."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _csv_text(header: Sequence[str], rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue()


def _workbook_bytes() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for table, (header, rows) in TABLES.items():
        ws = wb.create_sheet(table)
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(list(row))
        for col, name in zip("ABCDEFGH", header):
            ws.column_dimensions[col].width = max(10, len(name) + 2)
        # patient identifiers are text: keep "001" as typed
        for (cell,) in ws.iter_rows(min_row=2, max_col=1):
            cell.number_format = "@"
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return _deterministic_zip(buf.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps (and fixed document dates), keeping the member order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + _FIXED_ISO.encode()
                              + rb"\g<2>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def main(folder: Path = HERE) -> list[Path]:
    """Write every template into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table, (header, rows) in TABLES.items():
        path = folder / f"{table}_template.csv"
        path.write_text(_csv_text(header, rows), encoding="utf-8", newline="")
        written.append(path)
    path = folder / "trial_template.xlsx"
    path.write_bytes(_workbook_bytes())
    written.append(path)
    return written


if __name__ == "__main__":
    for p in main():
        print(p.relative_to(HERE.parent.parent) if HERE.parent.parent in p.parents else p)
