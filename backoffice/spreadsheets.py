"""Cells bound for spreadsheets (CSV/XLSX exports): the one guard against formula injection (OWASP "CSV injection")."""

# A cell starting with one of these may be run as a formula by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)


def neutralise_cell(value):
    """Prefix a single quote to a text cell that starts like a formula, so spreadsheets show it as text."""
    # On the hot path of every export (several cells a row): one slice and one set lookup.
    if value.__class__ is str and value[:1] in _FORMULA_FIRST:
        return "'" + value
    return value


def restore_cell(value):
    """The inverse of ``neutralise_cell`` for files we exported and the user imports again."""
    if value.__class__ is str and value[:1] == "'" and value[1:2] in _FORMULA_FIRST:
        return value[1:]
    return value
