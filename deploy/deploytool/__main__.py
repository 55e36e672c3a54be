"""`python3 -m deploytool` (from deploy/), the same as `python3 deploy/deploy.py`."""

import sys

from .cli import main

sys.exit(main())
