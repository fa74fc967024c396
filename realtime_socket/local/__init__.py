"""The local runtime: what the stack program declares, served on localhost with AWS semantics.

API Gateway's rules are sans-I/O in :mod:`realtime_socket.local.gateway`;
``websocket_endpoint.py`` (the WebSocket side) and ``management.py`` (the ``@connections``
API) only perform the actions those rules return, and ``server.py`` starts and stops it all.
"""
