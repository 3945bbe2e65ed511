"""One delivery attempt over HTTP: the target's request, the current secret, the answer judged.

A 401 may mean no more than a secret rotated since it was cached: the secret is read afresh once and,
if it changed, the call is made once more before the answer is judged. A 401 with the fresh secret is
judged like any other 4xx (permanent): the secret in SSM is wrong, and retrying cannot fix it.

Every call waits for its turn from the invocation's pacer; a call that would get none in time, or that the
invocation has no time left for, is not made (PACED): the CRM never saw it, so no attempt is spent. A rate
limit from the CRM pauses the pacer, so the rest of the batch holds back too.
"""

from collections.abc import Callable
from functools import partial

import httpx
from aws_lambda_powertools import Logger

from attendance.delivery.backpressure import CallPacer
from attendance.delivery.outcome import DeliveryOutcome, Verdict
from attendance.delivery.secrets import CrmSecret
from attendance.delivery.targets.base import CrmRequest, CrmTarget
from attendance.domain.punch import Punch

logger = Logger(child=True)
MIN_CALL_SECONDS = 0.2  # below this there is no point in calling: the call is not made


class _NotAnswered(Exception):
    """No answer to judge (a timeout, a connection error): a transient failure."""


class _NoTurn(Exception):
    """No turn for this call within the invocation, from the pacer or for want of time: not called at all."""


class CrmClient:
    def __init__(self, target: CrmTarget, secret: CrmSecret, http: httpx.Client, call_timeout: float) -> None:
        self._target = target
        self._secret = secret
        self._http = http
        self._call_timeout = call_timeout

    def deliver(
        self, punch: Punch, seconds_left: Callable[[], float], pacer: CallPacer | None = None
    ) -> DeliveryOutcome:
        """Every call ends within seconds_left() as it is when the call starts."""
        request = self._target.request_for(punch)
        return self._exchange(request, self._target.judge, punch.log_id, seconds_left, pacer)

    def remove(
        self, log_id: str, reference: str, seconds_left: Callable[[], float], pacer: CallPacer | None = None
    ) -> DeliveryOutcome:
        """Remove a voided punch's record from the CRM (DELIVERED: it is gone), as a delivery is timed, paced
        and judged. A DELETE is idempotent as it is, and carries no Idempotency-Key: a CRM that keeps keys
        would answer the punch's own POST, whose key is its logId."""
        request = self._target.removal_for(reference)
        return self._exchange(request, self._target.judge_removal, log_id, seconds_left, pacer)

    def _exchange(
        self,
        request: CrmRequest,
        judge: Callable[[httpx.Response], DeliveryOutcome],
        log_id: str,
        seconds_left: Callable[[], float],
        pacer: CallPacer | None,
    ) -> DeliveryOutcome:
        pacer = pacer or CallPacer(0)
        secret = self._secret.current()
        call = partial(self._call, request, log_id, seconds_left=seconds_left, pacer=pacer)
        try:
            response = call(secret)
            if response.status_code == httpx.codes.UNAUTHORIZED:
                response = self._with_fresh_secret(call, log_id, secret) or response
        except _NotAnswered as failure:
            return DeliveryOutcome(Verdict.TRANSIENT, str(failure))
        except _NoTurn as no_turn:
            return DeliveryOutcome(Verdict.PACED, str(no_turn), retry_after=pacer.seconds_to_next())
        outcome = judge(response)
        if outcome.verdict is Verdict.RATE_LIMITED and outcome.retry_after:
            pacer.hold(outcome.retry_after)
        return outcome

    def _with_fresh_secret(
        self, call: Callable[[str | None], httpx.Response], log_id: str, refused: str | None
    ) -> httpx.Response | None:
        fresh = self._secret.after_refusal(refused)
        if fresh == refused:
            return None  # nothing new to try: the 401 stands
        logger.info("CRM refused the cached secret; calling again with a fresh one", extra={"logId": log_id})
        return call(fresh)

    def _call(
        self,
        request: CrmRequest,
        log_id: str,
        secret: str | None,
        *,
        seconds_left: Callable[[], float],
        pacer: CallPacer,
    ) -> httpx.Response:
        if seconds_left() >= MIN_CALL_SECONDS and not pacer.acquire(seconds_left() - MIN_CALL_SECONDS):
            raise _NoTurn("held back: no turn left in this invocation at CrmMaxRatePerSecond")
        budget = min(self._call_timeout, seconds_left())
        if budget < MIN_CALL_SECONDS:
            # A starved or late invocation: the CRM never sees the punch, so it costs no attempt.
            raise _NoTurn("held back: no time left in this invocation to call the CRM")
        headers = self._target.credentials(secret)
        if request.method == "POST":
            headers["Idempotency-Key"] = log_id
        try:
            # httpx times each phase; halving the budget keeps connect + read inside it.
            return self._http.request(
                request.method, request.url, json=request.json, headers=headers, timeout=budget / 2
            )
        except httpx.TimeoutException as error:
            raise _NotAnswered(f"CRM did not answer within {budget:.1f} s") from error
        except httpx.HTTPError as error:
            raise _NotAnswered(f"CRM unreachable: {type(error).__name__}: {error}") from error
