"""CSV cells as spreadsheets read them: the files this system writes (reports, the directory) open cleanly."""

UTF8_BOM = "\ufeff"  # without it, Excel reads UTF-8 CSV as the local code page
# What a spreadsheet takes for the start of a formula in a cell it opens; a tab or a carriage return first,
# some drop and then run what follows.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(cell: str) -> str:
    """A cell a spreadsheet shows as the text it is: one that would start a formula (a name from the
    directory, an ID like +4930123) gets an apostrophe before it, which spreadsheets do not show."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
