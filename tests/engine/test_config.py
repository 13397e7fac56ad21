"""Configuration: discovery, validation with clear messages, merging with the command line."""
from __future__ import annotations

import pytest

from orchfix import api, config


def write(path, text):
    path.write_text(text)
    return path


def test_found_upward_and_pyproject_table(tmp_path):
    (tmp_path / "a/b").mkdir(parents=True)
    write(tmp_path / "pyproject.toml", "[tool.orchfix]\nselect = ['df']\n")
    assert config.find(tmp_path / "a/b") == tmp_path / "pyproject.toml"
    write(tmp_path / "a/.orchfix.toml", "unsafe = true\n")
    assert config.find(tmp_path / "a/b") == tmp_path / "a/.orchfix.toml"
    assert config.load(tmp_path / "pyproject.toml").select == ["df"]


def test_full_config(tmp_path):
    settings = config.load(write(tmp_path / ".orchfix.toml", """
select = ["df", "df-003"]
ignore = ["df-004"]
unsafe = false
exclude = ["vendor/"]
[pins]
node = "22.11-bookworm-slim"
"""))
    assert settings.select == ["df", "df-003"] and settings.ignore == ["df-004"]
    assert settings.chosen == {"df-003"} and settings.pins == {"node": "22.11-bookworm-slim"}
    assert settings.base == tmp_path


@pytest.mark.parametrize("text, message", [
    ("selct = ['df']\n", "unknown key(s) selct"),
    ("select = ['zz-999']\n", "unknown transform id or prefix 'zz-999'"),
    ("select = 'df'\n", "'select' must be list"),
    ("unsafe = 'yes'\n", "'unsafe' must be bool"),
    ("[pins]\nnode = 22\n", "pin for 'node' must be str"),
    ("[transforms.zz-1]\nx = 1\n", "[transforms.zz-1]: unknown transform id"),
    ("select = [\n", "invalid TOML"),
])
def test_errors_name_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path / ".orchfix.toml", text)
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_command_line_select_replaces_config_and_ignore_adds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / ".orchfix.toml", "select = ['df']\nignore = ['df-005']\n")
    job = api.plan(["."], select=["df-00"], ignore=["df-004"])
    ids = [t.id for t in job.transforms]
    assert "df-004" not in ids and "df-005" not in ids and "df-001" in ids
