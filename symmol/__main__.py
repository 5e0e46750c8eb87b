"""``python -m symmol`` runs the command line."""

import sys

from symmol.cli.main import main

sys.exit(main())
