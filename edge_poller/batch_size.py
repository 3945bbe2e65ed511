"""How many punches one push sends: fewer when the cloud struggles, more again once it keeps up."""

GROW_AFTER = 3  # clean full pushes in a row before the size doubles


class BatchSize:
    """Halve after a timeout, a 5xx, a dropped connection or a partial answer; double after GROW_AFTER clean
    pushes of a full batch; always within [minimum, maximum]."""

    def __init__(
        self, minimum: int, maximum: int, current: int | None = None, grow_after: int = GROW_AFTER
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(
                f"batch size bounds must satisfy 1 <= minimum <= maximum, got {minimum}, {maximum}"
            )
        self.minimum, self.maximum, self.grow_after = minimum, maximum, grow_after
        # A size remembered from an earlier run is kept, within today's bounds (the config may have changed)
        self.current = maximum if current is None else min(maximum, max(minimum, current))
        self._clean_in_a_row = 0

    def shrink(self) -> None:
        self._clean_in_a_row = 0
        self.current = max(self.minimum, self.current // 2)

    def clean(self, sent: int) -> None:
        """A push answered in full. Only a full batch counts towards growing: a trickle of a few new punches
        says nothing about how a backlog of the current size would fare."""
        if sent < self.current:
            return
        self._clean_in_a_row += 1
        if self._clean_in_a_row >= self.grow_after:
            self._clean_in_a_row = 0
            self.current = min(self.maximum, self.current * 2)
