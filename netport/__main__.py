import sys

from netport.cli import main

sys.exit(main())
