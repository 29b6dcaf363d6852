"""``python -m crmbatch``: the command line (how ``serve`` starts its worker child)."""

from crmbatch.cli import main

main()
