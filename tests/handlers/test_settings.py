"""Settings come from the contract's variable names and fall back to its defaults."""

from __future__ import annotations

from realtime_socket import contract
from realtime_socket.contract import Env, Table
from realtime_socket.handlers import settings


def test_every_setting_is_read_from_its_contract_name():
    """Each variable the component sets lands in its field (the rate under its new names)."""
    cfg = settings.load(
        {
            Env.TABLE_NAME: "t",
            Env.ROOM_INDEX_NAME: "rooms",
            Env.USER_INDEX_NAME: "users",
            Env.MANAGEMENT_ENDPOINT: "https://x/live",
            Env.CONNECTION_TTL_SECONDS: "60",
            Env.FANOUT_CONCURRENCY: "3",
            Env.MESSAGES_PER_SECOND: "2.5",
            Env.MESSAGE_BURST: "5",
            Env.MAX_CONNECTIONS_PER_USER: "4",
            Env.ALLOWED_ORIGINS: "https://a,https://b",
            Env.PRESENCE_MAX_ROOM: "0",
        }
    )
    assert cfg == settings.Settings(
        table_name="t",
        room_index="rooms",
        user_index="users",
        management_endpoint="https://x/live",
        ttl_seconds=60,
        fanout_concurrency=3,
        messages_per_second=2.5,
        message_burst=5,
        max_connections_per_user=4,
        allowed_origins=("https://a", "https://b"),
        presence_max_room=0,
    )


def test_unset_variables_fall_back_to_the_contracts_defaults():
    """The handlers' fallbacks are the component's defaults, not values of their own."""
    cfg = settings.load({Env.TABLE_NAME: "t"})
    assert (cfg.room_index, cfg.user_index) == (Table.ROOM_INDEX, Table.USER_INDEX)
    assert cfg.ttl_seconds == contract.CONNECTION_TTL_SECONDS
    assert cfg.fanout_concurrency == contract.DEFAULT_FANOUT_CONCURRENCY
    assert cfg.messages_per_second == contract.DEFAULT_MESSAGES_PER_SECOND
    assert cfg.message_burst == contract.DEFAULT_MESSAGE_BURST
    assert cfg.presence_max_room == contract.DEFAULT_PRESENCE_MAX_ROOM
    assert (cfg.management_endpoint, cfg.max_connections_per_user) == (None, 0)
