"""Near-duplicate rule: no two accepted punches of one user lie less than the window apart.

Time is cut into window-wide slots per user. Two accepted punches can never share a slot (they would
be less than a window apart), so a punch is accepted when its own slot is free and the punches, if
any, in the slots on either side are at least a window away. Each slot is one DynamoDB item, so the
check and the claim are a single conditional transaction: racing requests serialise on the slots,
and the outcome depends on the punches' own timestamps, never on when they arrived.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SlotClaim:
    """The slot items a punch at `epoch` must claim (own) and check (before, after)."""

    user_id: str
    epoch: int
    window_seconds: int

    @property
    def slot(self) -> int:
        return self.epoch // self.window_seconds

    @property
    def own_key(self) -> str:
        return self._key(self.slot)

    @property
    def before_key(self) -> str:
        return self._key(self.slot - 1)

    @property
    def after_key(self) -> str:
        return self._key(self.slot + 1)

    @property
    def earliest_allowed_before(self) -> int:
        """A punch in the slot before must be at or before this epoch second."""
        return self.epoch - self.window_seconds

    @property
    def latest_allowed_after(self) -> int:
        """A punch in the slot after must be at or after this epoch second."""
        return self.epoch + self.window_seconds

    def _key(self, slot: int) -> str:
        return f"{self.user_id}#{self.window_seconds}#{slot}"
