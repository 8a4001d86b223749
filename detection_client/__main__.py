"""`python -m detection_client URL IMAGES...`."""

import sys

from .cli import main

sys.exit(main())
