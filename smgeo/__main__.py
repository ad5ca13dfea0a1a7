"""`python -m smgeo ...` (and `torchrun ... -m smgeo train ...`) run the `smgeo` command line."""

import sys

from smgeo.cli import main

sys.exit(main())
