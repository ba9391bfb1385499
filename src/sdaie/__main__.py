import sys

from sdaie.cli import main

sys.exit(main())
