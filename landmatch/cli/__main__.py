"""``python -m landmatch.cli``: the ``landmatch`` command."""

from landmatch.cli import main

main()
