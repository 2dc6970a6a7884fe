import sys

from qdoem.cli import main

sys.exit(main())
