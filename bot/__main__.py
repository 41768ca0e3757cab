"""`python -m bot` runs the `loyalty` command line."""

from bot.cli import main

main()
