"""Entry point: python -m lab up|down|status."""

import sys

from lab.labctl import main

sys.exit(main())
