"""CSV cells as a spreadsheet opening the file reads them: what it would run or convert is written as text."""

import pytest

from attendance.domain.spreadsheet import as_text_cell


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("Anna Berg", "Anna Berg"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("09:00-17:00 +05:30", "09:00-17:00 +05:30"),
        ('=HYPERLINK("http://x","Pay")', '\'=HYPERLINK("http://x","Pay")'),
        ("+4930123", "'+4930123"),
        ("@SUM(A1)", "'@SUM(A1)"),
        # a tab or a carriage return first, which some spreadsheets drop before running what follows
        ('\t=HYPERLINK("http://x")', '\'\t=HYPERLINK("http://x")'),
        ("\r=1+1", "'\r=1+1"),
        # a fixed-offset zone too: Excel reads +05:30 as a formula (=+05:30, the rows 5 to 30) and -05:00 as
        # one or as a negative time, never as the zone it names; the apostrophe keeps it the text it is
        ("+05:30", "'+05:30"),
        ("-05:00", "'-05:00"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_or_convert_is_written_as_text(cell, written):
    # Given a cell of a report or of the directory
    # When it is written to a CSV file
    # Then only what a spreadsheet would take for a formula has the apostrophe before it
    assert as_text_cell(cell) == written
