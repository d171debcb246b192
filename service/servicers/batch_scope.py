"""What every BatchService call shares: the tenant and environment check, and the catalog they name."""

from __future__ import annotations

from service.db.engine import Session, Sessions
from service.db.models import Catalog
from service.domain.catalogs import check_name, get_catalog
from service.errors import InvalidArgument
from service.interceptors import current_principal
from service.servicers.streaming import UploadSlots
from service.settings import Settings


class BatchScope:
    def __init__(self, sessions: Sessions, settings: Settings, uploads: UploadSlots | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.uploads = uploads or UploadSlots(settings.max_uploads_per_tenant, settings.max_uploads)

    @staticmethod
    def _scope(tenant: str, environment: str | None) -> int:
        """The caller's tenant id; `tenant` must be the token's tenant, and `environment` given (unless None)."""
        principal = current_principal()
        principal.check_tenant(tenant, "tenant")
        required = [("tenant", tenant)] + ([("environment", environment)] if environment is not None else [])
        violations = [(name, "required") for name, value in required if not value]
        if violations:
            raise InvalidArgument(f"{violations[0][0]} is required", field_violations=violations)
        if environment is not None:
            check_name(environment, "environment")
        return principal.tenant_id

    @staticmethod
    async def _catalog(session: Session, tenant_id: int, environment: str) -> Catalog:
        """The environment's catalog; NOT_FOUND naming it when there is none. Only POST /catalogs (and the
        catalog writes of the other APIs) create a catalog: a typo never silently makes an empty one (R9)."""
        return await get_catalog(session, tenant_id, environment, "environment")
