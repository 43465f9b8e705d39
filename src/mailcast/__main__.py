"""`python -m mailcast`: the same as the `mailcast` command."""

from mailcast.cli import main

main()
