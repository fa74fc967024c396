"""The stack program: one RealtimeSocket per namespace in the stack's config.

Config reference: realtime_socket/component/namespaces.py and the README. Deploy with
`pulumi up`.
"""

import pulumi

from realtime_socket import AccountLogging, RealtimeSocket
from realtime_socket.component.namespaces import namespaces_from_config

config = pulumi.Config()

# API Gateway's CloudWatch role is one setting per account and Region: made once, here.
account_logging = (
    AccountLogging("apigateway-account-logging")
    if config.get_bool("manageAccountLogging") is not False
    else None
)
depends_on = [account_logging] if account_logging else []

for name, args in namespaces_from_config(config):
    socket = RealtimeSocket(name, args, pulumi.ResourceOptions(depends_on=depends_on))
    pulumi.export(
        name,
        {
            "url": socket.url,
            "management_endpoint": socket.management_endpoint,
            "custom_url": socket.custom_url,
            "table_name": socket.table_name,
            "history_table_name": socket.history_table_name,
            "history_retention_seconds": socket.history_retention_seconds,
            "alarm_topic_arn": socket.alarm_topic_arn,
        },
    )
