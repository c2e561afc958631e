from __future__ import annotations

import pytest
from pydantic import Field

from vbhc.core import ConfigError, Settings, config_hash, load_config


class Window(Settings):
    start_days: int = Field(ge=0)
    end_days: int


class Example(Settings):
    name: str
    window: Window


def test_loads_valid_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nwindow: {start_days: 60, end_days: 150}\n")
    cfg = load_config(p, Example)
    assert cfg.window.end_days == 150


def test_unknown_key_names_file_and_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nwindow: {start_days: 60, end_days: 150, stat_days: 1}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: window\.stat_days: unknown key"):
        load_config(p, Example)


def test_bad_value_and_missing_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("window: {start_days: -1, end_days: 150}\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, Example)
    assert "name: required key is missing" in str(err.value)
    assert "window.start_days" in str(err.value)


def test_yaml_syntax_error_gives_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nwindow: [1, 2\n")
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_config(p, Example)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml", Example)


def test_config_hash_is_stable_and_sensitive():
    a = Example(name="x", window=Window(start_days=1, end_days=2))
    b = Example(name="x", window=Window(start_days=1, end_days=2))
    c = Example(name="x", window=Window(start_days=1, end_days=3))
    assert config_hash(a) == config_hash(b) != config_hash(c)
