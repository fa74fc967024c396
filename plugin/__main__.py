"""Entry point of the realtime-socket plugin: ``main`` in PulumiPlugin.yaml points here.

Pulumi's Python host runs a plugin's ``__main__.py``; the repository root's is the stack
program, so the provider's entry lives in this directory of its own.
"""

from realtime_socket.provider import main

raise SystemExit(main())
