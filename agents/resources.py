"""Quick phrases in and out of CSV and XLSX files (django-import-export), for the API and the admin.

File columns: ``scope`` (``personal``/``team``; blank means personal), ``shortcut``, ``title``, ``content``,
``category``; exports add ``usage_count``, which imports ignore. A row is matched on (shop, scope, owner,
shortcut), so importing a file again updates its phrases instead of duplicating them. Row numbers are those a
spreadsheet shows: the header is row 1, the first phrase row 2.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import openpyxl
import tablib
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources

from backoffice.errors import Conflict, InvalidInput
from backoffice.spreadsheets import neutralise_cell, restore_cell
from shops.models import Shop

from .choices import PhraseScope
from .models import Agent, QuickPhrase
from .services import quick_phrase_check

COLUMNS = ["scope", "shortcut", "title", "content", "category"]
EXPORT_COLUMNS = [*COLUMNS, "usage_count"]
IMPORT_FORMATS = ("csv", "xlsx")
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_ROWS = 5000
HEADER_ROWS = 1


class QuickPhraseResource(resources.ModelResource):
    """Phrases of one shop as seen by one caller: the team's, and ``owner``'s personal ones."""

    usage_count = fields.Field(attribute="usage_count", column_name="usage_count", readonly=True)

    class Meta:
        model = QuickPhrase
        fields = EXPORT_COLUMNS
        export_order = EXPORT_COLUMNS
        import_id_fields = ["scope", "shortcut"]
        clean_model_instances = True
        use_transactions = True
        skip_diff = True

    def __init__(self, *, shop: Shop | None = None, owner: Agent | None = None, manager: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.shop = shop
        self.owner = owner
        self.manager = manager

    def export_field(self, field, instance, **kwargs):
        # Phrases are typed by agents: one starting with "=" must reach a spreadsheet as text, not as a formula.
        return neutralise_cell(super().export_field(field, instance, **kwargs))

    def before_import_row(self, row, **kwargs):
        for name in COLUMNS:
            value = row.get(name)
            row[name] = "" if value is None else restore_cell(str(value).strip())
        row["scope"] = row["scope"].lower() or PhraseScope.PERSONAL

    def _owner_for(self, scope: str) -> Agent | None:
        return self.owner if scope == PhraseScope.PERSONAL else None

    def get_instance(self, instance_loader, row):
        return (
            QuickPhrase.objects.filter(
                shop=self.shop, scope=row["scope"], owner=self._owner_for(row["scope"]), shortcut=row["shortcut"]
            )
            .select_related("shop")
            .first()
        )

    def init_instance(self, row=None):
        return QuickPhrase(shop=self.shop, owner=self._owner_for(row["scope"]))

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        if instance.scope == PhraseScope.TEAM and not self.manager:
            errors.setdefault("scope", []).append(_("Only owners and supervisors manage team phrases."))
        elif instance.scope == PhraseScope.PERSONAL and self.owner is None:
            errors.setdefault("scope", []).append(_("Personal phrases are imported by their owner."))
        elif instance.scope in PhraseScope.values:
            try:
                quick_phrase_check(phrase=instance)
            except InvalidInput as error:
                errors.setdefault(error.field or NON_FIELD_ERRORS, []).append(str(error.message))
        super().validate_instance(instance, errors or None, validate_unique)


def phrase_queryset_for_export(*, shop: Shop, owner: Agent | None):
    """The team's phrases and ``owner``'s personal ones (team only without an owner)."""
    phrases = QuickPhrase.objects.filter(shop=shop)
    if owner is None:
        return phrases.filter(scope=PhraseScope.TEAM)
    return phrases.filter(scope=PhraseScope.TEAM) | phrases.filter(owner=owner)


def quick_phrases_export(*, shop: Shop, owner: Agent | None, file_format: str) -> bytes:
    """The file (CSV as UTF-8 with a byte-order mark, so spreadsheet programs read Chinese, or XLSX)."""
    queryset = phrase_queryset_for_export(shop=shop, owner=owner).order_by("scope", "category", "shortcut", "pk")
    dataset = QuickPhraseResource(shop=shop, owner=owner).export(queryset)
    if file_format == "xlsx":
        return dataset.export("xlsx")
    return ("\ufeff" + dataset.export("csv")).encode("utf-8")


UNREADABLE = gettext_lazy("The file is not a readable CSV or XLSX file.")


@dataclass
class PhraseFile:
    """An uploaded file's phrase rows, with the row number each has in the file as a spreadsheet shows it."""

    dataset: tablib.Dataset
    file_rows: list[int]


def _csv_records(content: bytes) -> list[list]:
    if b"\x00" in content:
        raise ValueError("binary content")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gb18030")
    # csv keeps blank lines (as empty records) and quoted line breaks inside one record, as spreadsheets count rows.
    return list(csv.reader(io.StringIO(text, newline="")))


def _xlsx_records(content: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        records = []
        for record in book.active.iter_rows(values_only=True):
            records.append(record)
            if len(records) > IMPORT_MAX_ROWS * 2:
                break  # far too many rows: the count check below refuses the file
        return records
    finally:
        book.close()


def dataset_from_upload(*, content: bytes, filename: str = "") -> PhraseFile:
    """Read an uploaded CSV (UTF-8, or GB18030 as Excel saves it in China) or XLSX file; bad files are a 400.

    The first row names the columns; blank rows are skipped but still counted, so row numbers match the file.
    """
    if len(content) > IMPORT_MAX_BYTES:
        raise InvalidInput(_("The file is larger than 1 MB."), field="file")
    is_xlsx = content[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    try:
        records = _xlsx_records(content) if is_xlsx else _csv_records(content)
    except Exception as error:  # csv, zipfile and openpyxl raise many types for broken files
        raise InvalidInput(UNREADABLE, field="file") from error
    headers = [str(h or "").strip().lower() for h in (records[0] if records else [])]
    missing = [name for name in ("shortcut", "content") if name not in headers]
    if missing:
        raise InvalidInput(
            _("The first row must name the columns; missing: %(columns)s.") % {"columns": ", ".join(missing)},
            field="file",
        )
    dataset, file_rows = tablib.Dataset(headers=headers), []
    for number, record in enumerate(records[1:], start=HEADER_ROWS + 1):
        cells = ["" if value is None else str(value) for value in record][: len(headers)]
        if not any(cell.strip() for cell in cells):
            continue
        dataset.append(cells + [""] * (len(headers) - len(cells)))
        file_rows.append(number)
    if len(dataset) > IMPORT_MAX_ROWS:
        raise InvalidInput(_("The file has more than %(max)d phrases.") % {"max": IMPORT_MAX_ROWS}, field="file")
    return PhraseFile(dataset=dataset, file_rows=file_rows)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)


def _row_message(error_dict: dict) -> str:
    parts = []
    for name, messages in error_dict.items():
        text = " ".join(str(m) for m in messages)
        parts.append(text if name == NON_FIELD_ERRORS else f"{name}: {text}")
    return "; ".join(parts)


def quick_phrases_import(*, shop: Shop, owner: Agent | None, manager: bool, upload: PhraseFile) -> ImportReport:
    """Import phrases: a dry run finds the bad rows, then the good ones are written in one transaction.

    Bad rows are reported as ``{"row", "message"}`` (spreadsheet numbering) and no good row is lost.
    """
    dataset = upload.dataset
    resource = QuickPhraseResource(shop=shop, owner=owner, manager=manager)
    trial = resource.import_data(dataset, dry_run=True, use_transactions=True)
    report = ImportReport()
    bad: set[int] = set()
    for invalid in trial.invalid_rows:
        bad.add(invalid.number)
        report.errors.append({"row": upload.file_rows[invalid.number - 1], "message": _row_message(invalid.error_dict)})
    for error_row in trial.error_rows:
        bad.add(error_row.number)
        report.errors.append(
            {"row": upload.file_rows[error_row.number - 1], "message": _("This row could not be imported.")}
        )
    for base_error in trial.base_errors:
        raise InvalidInput(UNREADABLE, field="file") from base_error.error
    report.errors.sort(key=lambda e: e["row"])
    good = tablib.Dataset(headers=dataset.headers)
    for number, values in enumerate(dataset, 1):
        if number not in bad:
            good.append(values)
    if not len(good):
        return report
    with transaction.atomic():
        result = QuickPhraseResource(shop=shop, owner=owner, manager=manager).import_data(
            good, dry_run=False, use_transactions=True
        )
        if result.has_errors() or result.has_validation_errors():
            # Something changed between the dry run and now (a concurrent import): write nothing.
            transaction.set_rollback(True)
            raise Conflict(_("The phrases changed while importing; try again."))
    report.created = result.totals["new"]
    report.updated = result.totals["update"]
    return report
