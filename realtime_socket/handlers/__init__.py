"""Lambda code for realtime-socket.

One module per route ($connect, $disconnect, $default, sendmessage, ping) plus the JWT
authorizer. Plain Python, boto3 and PyJWT only: this package imports nothing from pulumi or
the component, because it runs inside Lambda where neither is installed. Its artifact holds
``realtime_socket/__init__.py`` (which loads nothing eagerly), ``realtime_socket/contract.py``
and this package.
"""
