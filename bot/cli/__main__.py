"""``python -m bot.cli``: the same as the ``gradebot`` command."""

from bot.cli import main

main()
