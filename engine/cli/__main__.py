"""`python -m engine.cli`: the same commands as the `omnistock` script."""

from engine.cli.app import main

main()
