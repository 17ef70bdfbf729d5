"""Settings are parsed once, from one table, and a bad value stops the start with its name."""

from __future__ import annotations

import pytest

from portal.config import SETTINGS, SettingError, default_settings


def test_defaults_need_no_environment(tmp_path):
    settings = default_settings(str(tmp_path), environ={})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'portal.sqlite'}"
    assert settings["PER_PAGE"] == 20
    assert settings["SECRET_KEY"] is None  # required outside development: see tests/officials/test_accounts.py
    assert settings["DEVELOPMENT"] is False


def test_values_come_from_the_environment(tmp_path):
    settings = default_settings(str(tmp_path), environ={"PORTAL_PER_PAGE": " 50 ", "PORTAL_INDEX_DIR": "/srv/ix"})
    assert settings["PER_PAGE"] == 50
    assert settings["INDEX_DIR"] == "/srv/ix"


@pytest.mark.parametrize("value", ["x", "0", "10000", "2.5"])
def test_a_bad_value_is_refused_with_its_name(tmp_path, value):
    with pytest.raises(SettingError, match="PORTAL_PER_PAGE"):
        default_settings(str(tmp_path), environ={"PORTAL_PER_PAGE": value})


def test_every_setting_has_help():
    assert all(setting.help for setting in SETTINGS)
