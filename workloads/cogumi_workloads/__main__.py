"""``python -m cogumi_workloads``: see :mod:`cogumi_workloads.cli`."""

import sys

from cogumi_workloads.cli import main

sys.exit(main())
