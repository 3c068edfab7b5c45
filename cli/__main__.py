"""``python -m cli``: the ``gridplan`` command."""

import sys

from cli import main

sys.exit(main())
