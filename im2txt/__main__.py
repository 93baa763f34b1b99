"""`python -m im2txt`: delegates to the command line."""

import sys

from im2txt.cli import main

sys.exit(main())
