"""`python -m mailtriage` runs the command line."""

import sys

from mailtriage.service.cli import main

sys.exit(main())
