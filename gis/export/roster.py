"""The roster template (花名册模板.xlsx): the columns gridplan reads, checked as they are typed.

A community office keeps its households in Excel or WPS. The template has one sheet to
fill (headers gridplan maps without asking: 地址, 楼栋编号, 单元, 楼层, 房号, 人口,
常住人口, 民政对象), one example row, data validation on every column (whole numbers where numbers
go, 是/否 for special-service households) with an input message saying what goes there,
and a second sheet explaining each column. It prints landscape on A4, header repeated.

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> out = write_roster_template(pathlib.Path(tempfile.mkdtemp()) / "花名册模板.xlsx")
>>> pd.read_excel(out, engine="calamine").columns.tolist()
['地址', '楼栋编号', '单元', '楼层', '房号', '常住人口', '民政对象']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gis.i18n import N_, translator
from gis.store.files import atomic_path

__all__ = ["ROSTER_COLUMNS", "RosterChecks", "write_roster_template"]

ROSTER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("address", N_("address"), N_("The household's address, e.g. 清华园街道荷清路3号楼2单元501.")),
    (
        "building_id",
        N_("building_id"),
        N_("The building's number as in the buildings layer (楼栋编号), e.g. 3号楼. Fill the "
           "address or the building number (or both)."),
    ),
    ("unit", N_("unit"), N_("The stairwell unit (单元), a whole number.")),
    ("floor", N_("floor"), N_("The floor, a whole number (basements negative).")),
    ("room", N_("room"), N_("The room number (房号), e.g. 501.")),
    ("residents", N_("residents"), N_("People living in the household, a whole number.")),
    (
        "special_service",
        N_("special_service"),
        N_("是 if the household is a civil-affairs case (民政对象: elderly living alone, "
           "disabled, low-income, children in difficulty), otherwise 否."),
    ),
)
"""``(field gridplan reads, header msgid, help msgid)``, in the template's order. The headers
are names the roster reader maps in every language: the field names in English, 地址,
楼栋编号, 单元, 楼层, 房号, 常住人口, 民政对象 in zh_CN."""


@dataclass(frozen=True)
class RosterChecks:
    """Bounds the template checks as a household is typed (Excel warns; the clerk may go on).

    They catch typing slips, not planning rules: a floor beyond the tallest residential
    towers in China (about 100 floors) or a household of more people than any family
    register holds is most likely a slip.

    Attributes
    ----------
    lowest_floor, highest_floor
        Floors accepted without a warning.
    most_residents
        People in one household accepted without a warning.
    rows
        Rows the checks cover (a large community has about 15,000 households).
    """

    lowest_floor: int = -3
    highest_floor: int = 120
    most_residents: int = 30
    rows: int = 50_000


_EXAMPLE = ("清华园街道荷清路3号楼2单元501", "3号楼", 2, 5, "501", 3, "否")


def write_roster_template(
    out: str | Path, *, lang: str | None = "zh_CN", checks: RosterChecks | None = None
) -> Path:
    """Write the roster template (``.xlsx``) and return its path.

    Parameters
    ----------
    out
        The file to write (``花名册模板.xlsx`` by convention).
    lang
        Language of the headers, messages and instructions (the zh_CN headers are the
        ones offices use; every language's headers are names the reader maps).
    checks
        The bounds of the data validation (:class:`RosterChecks`).
    """
    import xlsxwriter

    checks = checks or RosterChecks()
    tr = translator(lang).gettext
    yes, no = tr(N_("yes")), tr(N_("no"))
    out = Path(out)
    with atomic_path(out) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False})
        header = book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        example = book.add_format({"italic": True, "font_color": "#7F7F7F"})
        text = book.add_format({"num_format": "@"})
        sheet = book.add_worksheet(tr(N_("roster")))
        last = checks.rows
        for j, (field, label, help_text) in enumerate(ROSTER_COLUMNS):
            sheet.write_string(0, j, tr(label), header)
            width = 34 if field == "address" else 14
            # Text columns stay text: 0501 and 3-2 must not become numbers or dates.
            numeric = field in {"unit", "floor", "residents"}
            sheet.set_column(j, j, width, None if numeric else text)
            validation: dict[str, object] = {
                "input_title": tr(label)[:32],
                "input_message": tr(help_text)[:255],
                "error_type": "warning",
            }
            if field == "unit":
                validation.update(validate="integer", criteria=">=", value=1)
            elif field == "floor":
                validation.update(
                    validate="integer",
                    criteria="between",
                    minimum=checks.lowest_floor,
                    maximum=checks.highest_floor,
                )
            elif field == "residents":
                validation.update(
                    validate="integer", criteria="between", minimum=0, maximum=checks.most_residents
                )
            elif field == "special_service":
                validation.update(validate="list", source=[yes, no])
            else:
                validation.update(validate="any")
            if validation.get("validate") != "any":
                validation["error_title"] = tr(N_("Check this value"))[:32]
                validation["error_message"] = tr(help_text)[:255]
            sheet.data_validation(1, j, last, j, validation)
        values = list(_EXAMPLE)
        values[-1] = no
        for j, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(1, j, value, example)
            else:
                sheet.write_string(1, j, value, example)
        sheet.write_comment(
            1, 0, tr(N_("An example: write over it or delete this row.")), {"visible": False}
        )
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, 0, len(ROSTER_COLUMNS) - 1)
        sheet.set_paper(9)  # A4
        sheet.set_landscape()
        sheet.repeat_rows(0)
        sheet.fit_to_pages(1, 0)
        sheet.center_horizontally()
        guide = book.add_worksheet(tr(N_("how to fill")))
        guide.set_column(0, 0, 18)
        guide.set_column(1, 1, 90)
        guide.write_string(0, 0, tr(N_("column")), header)
        guide.write_string(0, 1, tr(N_("what to write")), header)
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        for i, (_, label, help_text) in enumerate(ROSTER_COLUMNS, start=1):
            guide.write_string(i, 0, tr(label), wrap)
            guide.write_string(i, 1, tr(help_text), wrap)
        notes = (
            N_("One row per household. The address or the building number matches the row to its "
               "building; gridplan reports rows that match no building, with their line number."),
            N_("Save it as .xlsx (or CSV in UTF-8) named 花名册 in the project's folder or zip, "
               "beside the layers, or load it on the Data page."),
        )
        for k, note in enumerate(notes, start=len(ROSTER_COLUMNS) + 2):
            guide.merge_range(k, 0, k, 1, tr(note), wrap)
        guide.set_landscape()
        guide.set_paper(9)
        guide.fit_to_pages(1, 0)
        book.close()
    return out
