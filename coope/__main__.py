"""`python -m coope` runs the command line."""

from coope.cli.main import main

main()
