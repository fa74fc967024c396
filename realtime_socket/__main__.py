"""``python -m realtime_socket``: the same as the ``realtime-socket`` command."""

import sys

from realtime_socket.tools.cli import main

sys.exit(main())
