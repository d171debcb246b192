"""The whole stack through PgBouncer: the FIFO and task tests, CSV uploads over gRPC and HTTP (COPY), record and
batch item streams, and separate processes (FIFO across workers, a killed worker, SIGTERM)."""

from tests.test_batch_stream import *  # noqa: F403
from tests.test_catalog_upload import *  # noqa: F403
from tests.test_http_catalog_upload import *  # noqa: F403
from tests.test_processes import *  # noqa: F403
from tests.test_stream_records import *  # noqa: F403
from tests.test_tasks import *  # noqa: F403
