"""Lambda code for realtime-socket.

One module per route ($connect, $disconnect, $default, sendmessage, ping) plus the JWT
authorizer. Plain Python, boto3 and PyJWT only: this package never imports pulumi or
``realtime_socket``, because it runs inside Lambda where neither is installed.
"""
