"""The queue tier through PgBouncer: claim, FIFO, leases, SKIP LOCKED, transitions and the claim's plan."""

from tests.queue.conftest import engine, queue  # noqa: F401 (their fixtures, on the pooled database_url)
from tests.queue.test_claim import *  # noqa: F403
from tests.queue.test_claim_plan import *  # noqa: F403
from tests.queue.test_lease import *  # noqa: F403
from tests.queue.test_skip_locked import *  # noqa: F403
from tests.queue.test_transitions import *  # noqa: F403
