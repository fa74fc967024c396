"""A user's stack: a chat socket and a telemetry socket whose tokens must grant rooms."""

import pulumi

from realtime_socket import JwtArgs, RealtimeSocket

config = pulumi.Config()
jwt: JwtArgs = {
    "issuer": "https://auth.example.com/",
    "audience": "my-app",
    "secret": config.require_secret("jwtSecret"),
}
chat = RealtimeSocket("chat", {"jwt": jwt, "functions": {"architecture": "arm64"}})
telemetry = RealtimeSocket(
    "telemetry",
    {"jwt": {**jwt, "rooms_claim": "rooms"}, "presence": {"events": False}},
)
pulumi.export("chat_url", chat.url)
pulumi.export("telemetry_url", telemetry.url)
