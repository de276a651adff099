"""The committee board's live feed: authenticate, check access, join the group, forward."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from community.selectors import committee_for_user

from .live import committee_group

# Refused before the handshake completes: the browser sees a failed connection, and nothing says
# whether the committee exists (invariant 3's 404, in websocket terms).
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _may_watch(user, committee_id: int) -> bool:
    # The selector's member filter needs a user row; anonymous is refused before it.
    if not user.is_authenticated:
        return False
    try:
        committee_for_user(user, committee_id)
    except Http404:
        return False
    return True


class CommitteeConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        committee_id = self.scope["url_route"]["kwargs"]["committee_id"]
        if not await _may_watch(self.scope["user"], committee_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = committee_group(committee_id)
        # Joined before accepting: once the board sees the socket open, it misses no push.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """The board only listens; whatever a client sends is ignored."""

    async def report_event(self, message: dict) -> None:
        await self.send_json({"event": message["event"], "report": message["report"]})

    async def alert_event(self, message: dict) -> None:
        await self.send_json({"event": "alert", "alert": message["alert"]})
