"""`python -m mailtriage` runs the command line."""

import sys

from mailtriage.cli import main

sys.exit(main())
