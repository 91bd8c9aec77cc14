"""Who is calling (a ``Principal``) and what each role may touch; accounts, their tokens and
sessions are ``landmatch.accounts``."""

from __future__ import annotations

from dataclasses import dataclass

from landmatch import vocab
from landmatch.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``None`` role means the public (no token)."""

    name: str | None = None
    role: str | None = None
    city_code: str | None = None
    zone_id: int | None = None
    team: str | None = None
    user_id: int | None = None

    @property
    def is_public(self) -> bool:
        return self.role is None

    @property
    def actor(self) -> str:
        return self.name or "public"

    @property
    def city_wide_everywhere(self) -> bool:
        """The admin, or a province-level bureau (no city, or the province's code): the
        caller acts for every city."""
        return self.role == "admin" or (
            self.role == "bureau" and self.city_code in (None, vocab.PROVINCE_CODE)
        )

    def can_edit_city(self, city_code: str) -> bool:
        if self.city_wide_everywhere:
            return True
        return self.role == "bureau" and self.city_code == city_code

    def can_edit_feature(self, city_code: str | None) -> bool:
        """May this caller write a reference-layer feature kept by ``city_code`` (None =
        province-wide)? Province-wide features are the admin's (``landmatch.reflayers.scope``)."""
        if self.role == "admin":
            return True
        return city_code is not None and self.can_edit_city(city_code)

    def can_edit_zone(self, zone_id: int, zone_city_code: str | None = None) -> bool:
        """May this caller edit the zone's own data (boundary, industries, assessments, contact)?

        The single rule for zone scope: admin everywhere; a zone committee only its own zone;
        a bureau the zones of its city (pass ``zone_city_code``).
        """
        if self.role == "admin":
            return True
        if self.role == "zone":
            return self.zone_id is not None and self.zone_id == zone_id
        if self.role == "bureau" and zone_city_code is not None:
            return self.can_edit_city(zone_city_code)
        return False

    def can_edit_parcel(
        self, city_code: str, zone_id: int | None, zone_city_code: str | None = None
    ) -> bool:
        """May this caller write a parcel in ``city_code`` / ``zone_id``? Parcel write paths call
        this for the parcel as it is and as it will be (a zone user cannot move a parcel out).

        A zone committee writes a parcel only when it is in the committee's zone *and* in
        that zone's city, ``zone_city_code`` (which the caller looks up: an account of role
        zone carries no city of its own; without it, nothing). Membership already keeps
        parcels to zones of their own city (``landmatch.db.membership``); this holds even
        where a stored membership predates that rule."""
        if self.role == "zone":
            return (
                self.zone_id is not None
                and zone_id == self.zone_id
                and zone_city_code is not None
                and city_code == zone_city_code
            )
        return self.can_edit_city(city_code)

    def owns(self, owner_team: str | None) -> bool:
        """May this caller see and write what belongs to the promotion team ``owner_team`` (a
        project with its investor, the project's match runs and reservations)? Admin: all; a
        promoter: its own team's; nobody else (an owner_team of None: admins only). The
        services apply it through :mod:`landmatch.match.ownership`."""
        if self.role == "admin":
            return True
        return self.role == "promoter" and self.team is not None and self.team == owner_team

    def require_zone(self, zone_id: int, zone_city_code: str | None = None) -> None:
        self.require("admin", "bureau", "zone")
        if not self.can_edit_zone(zone_id, zone_city_code):
            raise Forbidden("无权编辑该开发区：开发区账号只能维护本开发区的数据")

    def require_parcel(
        self, city_code: str, zone_id: int | None, zone_city_code: str | None = None
    ) -> None:
        self.require("admin", "bureau", "zone")
        if not self.can_edit_parcel(city_code, zone_id, zone_city_code):
            raise Forbidden("无权编辑该地块：超出本账号的城市或开发区范围")

    def require_own(self, user_id: int, refusal: str) -> None:
        """Refuse unless the caller is the account ``user_id`` or an admin (an account's own
        tokens and sign-in sessions); ``refusal`` says what was refused."""
        if self.is_public:
            raise Unauthorized("需要登录")
        if self.role != "admin" and self.user_id != user_id:
            raise Forbidden(refusal)

    def require(self, *roles: str) -> None:
        if self.is_public:
            raise Unauthorized("需要登录：请登录工作台，或在请求头中提供 Bearer 令牌或 Basic 认证")
        if self.role not in roles:
            raise Forbidden(f"当前角色（{vocab.label(vocab.ROLES, self.role)}）无权执行此操作")


PUBLIC = Principal()
