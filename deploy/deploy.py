#!/usr/bin/env python3
"""Zero-downtime deploys of SignUpFlow's app replicas: the operators' entry point.

    python3 deploy/deploy.py deploy signupflow:1.4.0   # migrate, roll, verify; undo on failure
    python3 deploy/deploy.py rollback                  # back to the release before the current one
    python3 deploy/deploy.py --help                    # every command and option

The tool is the package beside this file, deploy/deploytool/ (its docstring describes a deploy
step by step); this file only makes it runnable from anywhere with a bare python3 3.11+.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploytool.cli import main

if __name__ == "__main__":
    sys.exit(main())
