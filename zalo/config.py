"""Where Zalo is and who we are to it: the real endpoints in live mode, the bundled fake otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from settings import Settings

OA_MESSAGE_PATH = "/v3.0/oa/message/cs"
ZNS_MESSAGE_PATH = "/message/template"
TOKEN_PATH = "/v4/oa/access_token"  # noqa: S105 (a URL path)

# What the fake server expects when settings leave the credentials empty (local runs, tests).
FAKE_APP_ID = "fake-app"
FAKE_APP_SECRET = "fake-app-secret"  # noqa: S105 (a fixture value, not a secret)
FAKE_OA_SECRET = "fake-oa-secret"  # noqa: S105
FAKE_REFRESH_TOKEN = "fake-refresh-token"  # noqa: S105

OA_TEXT_MAX = 2000
TRACKING_ID_MAX = 48


@dataclass(frozen=True)
class ZaloConfig:
    oa_url: str
    zns_url: str
    oauth_url: str
    app_id: str
    app_secret: str
    oa_secret: str
    refresh_token: str
    timeout_seconds: float
    fake: bool


def zalo_config(settings: Settings) -> ZaloConfig:
    """The endpoints and credentials of the mode in effect; in fake mode all three URLs are the fake's."""
    if settings.effective_zalo_mode == "fake":
        url = settings.fake_zalo_url.rstrip("/")
        return ZaloConfig(
            oa_url=url,
            zns_url=url,
            oauth_url=url,
            app_id=settings.zalo_app_id or FAKE_APP_ID,
            app_secret=settings.zalo_app_secret.get_secret_value() or FAKE_APP_SECRET,
            oa_secret=settings.zalo_oa_secret.get_secret_value() or FAKE_OA_SECRET,
            refresh_token=settings.zalo_refresh_token.get_secret_value() or FAKE_REFRESH_TOKEN,
            timeout_seconds=settings.zalo_timeout_seconds,
            fake=True,
        )
    return ZaloConfig(
        oa_url=settings.zalo_oa_url.rstrip("/"),
        zns_url=settings.zalo_zns_url.rstrip("/"),
        oauth_url=settings.zalo_oauth_url.rstrip("/"),
        app_id=settings.zalo_app_id,
        app_secret=settings.zalo_app_secret.get_secret_value(),
        oa_secret=settings.zalo_oa_secret.get_secret_value(),
        refresh_token=settings.zalo_refresh_token.get_secret_value(),
        timeout_seconds=settings.zalo_timeout_seconds,
        fake=False,
    )
