"""Officer accounts: `python -m admin.officers` as an administrator runs it, and the account rules."""

from __future__ import annotations

import re

import pytest

from admin import officers as officers_cli
from db import officers
from db.engine import SessionFactory
from settings import Settings
from tests.support.pages import PASSWORD


def test_the_cli_creates_lists_and_deactivates_officers(
    settings: Settings,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(officers_cli, "get_settings", lambda: settings)
    assert (
        officers_cli.main(
            ["create", "--username", "Mai.PT", "--name", "Phạm Thị Mai", "--agency", "h21.65", "--generate"]
        )
        == 0
    )
    out = capsys.readouterr().out
    password = re.search(r"Mật khẩu \(chỉ hiện một lần\): (\S+)", out).group(1)  # type: ignore[union-attr]
    assert "mai.pt" in out
    assert officers_cli.main(["create", "--username", "mai.pt", "--agency", "H21.65", "--generate"]) == 2
    assert "đã có" in capsys.readouterr().err
    assert officers_cli.main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "mai.pt\tPhạm Thị Mai\tH21.65\tofficer\tđang dùng" in listed
    assert password not in listed
    assert officers_cli.main(["deactivate", "--username", "mai.pt"]) == 0
    capsys.readouterr()
    assert officers_cli.main(["list"]) == 0
    assert "mai.pt\tPhạm Thị Mai\tH21.65\tofficer\tđã khoá" in capsys.readouterr().out
    assert officers_cli.main(["set-password", "--username", "nobody", "--generate"]) == 1


async def test_passwords_are_argon2id_and_short_ones_are_refused(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        with pytest.raises(officers.OfficerError):
            await officers.create_officer(session, "ngan.lt", "Lê Thị Ngân", "ngan", ["H21.65"])
        with pytest.raises(officers.OfficerError):
            await officers.create_officer(session, "Tên có dấu", "X", PASSWORD, ["H21.65"])
        officer = await officers.create_officer(session, "ngan.lt", "Lê Thị Ngân", PASSWORD, ["h21.65", "*"])
    assert officer.password_hash.startswith("$argon2id$")
    assert officer.agencies == ["*"]
    assert officers.verify_password(officer.password_hash, PASSWORD)
    assert not officers.verify_password(officer.password_hash, PASSWORD + "x")
    assert not officers.verify_password(None, PASSWORD)
