"""The ZNS template messages the web process sends itself, outside any dossier's notices: the one-time
code that proves a phone, and the alert that a Zalo account was linked to it.

Each template's Vietnamese text (as registered with Zalo, `<param>` for each parameter) and its parameter
list live here, next to `zns_data`, the only way to build what is sent: a parameter missing or extra is a
bug, refused before anything leaves. The template ids are ZNS_TEMPLATE_IDS' `link_code` and
`link_alert` (in fake mode `fake-link_code`, `fake-link_alert`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from settings import Settings

_PARAM = re.compile(r"<([a-z_]+)>")


@dataclass(frozen=True)
class ZnsTemplate:
    kind: str  # its key in ZNS_TEMPLATE_IDS
    text: str
    params: tuple[str, ...]

    def template_id(self, settings: Settings) -> str | None:
        """The id Zalo gave this template; in fake mode a stand-in; None when not configured."""
        configured = settings.zns_template_ids.get(self.kind)
        if configured:
            return configured
        return f"fake-{self.kind}" if settings.effective_zalo_mode == "fake" else None


LINK_CODE = ZnsTemplate(
    kind="link_code",
    text=(
        "Mã xác nhận liên kết Zalo nhận thông báo hồ sơ của ông/bà là <otp>. Mã có hiệu lực trong <minutes> "
        "phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai, kể cả người xưng là cán bộ."
    ),
    params=("otp", "minutes"),
)
LINK_ALERT = ZnsTemplate(
    kind="link_alert",
    text=(
        "Số điện thoại của ông/bà vừa được liên kết với một tài khoản Zalo lúc <linked_at> để nhận thông báo "
        "hồ sơ của <office>. Nếu không phải ông/bà thực hiện, vui lòng liên hệ ngay <office> để hủy liên kết."
    ),
    params=("linked_at", "office"),
)
TEMPLATES = (LINK_CODE, LINK_ALERT)


def zns_data(template: ZnsTemplate, **values: str) -> dict[str, str]:
    """The template data to send: exactly the template's parameters (ValueError otherwise)."""
    if set(values) != set(template.params):
        raise ValueError(f"ZNS template {template.kind} takes {template.params}, given {sorted(values)}")
    return {name: values[name] for name in template.params}


def params_in_text(template: ZnsTemplate) -> tuple[str, ...]:
    """The parameters the text names, in order of first appearance."""
    return tuple(dict.fromkeys(_PARAM.findall(template.text)))


def tracking_id(template: ZnsTemplate, reference: str) -> str:
    """A ZNS tracking id (≤ 48 characters) for one message of this template."""
    return f"{template.kind[:10]}-" + hashlib.sha256(reference.encode()).hexdigest()[:32]
