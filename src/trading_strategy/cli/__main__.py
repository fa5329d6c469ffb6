import sys

from trading_strategy.cli import main

sys.exit(main())
