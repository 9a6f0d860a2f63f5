"""Settings: constructor + lamina.toml, typed validation, every error at once, env secrets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina import Lamina, Secret, SettingsError
from lamina._settings import validate_section
from lamina.testing import make_app, plugin


@dataclass(frozen=True)
class ShopSettings:
    secret_key: Secret
    currency: Literal["EUR", "USD"] = "EUR"
    max_items: int = 10
    ratio: float = 0.5
    debug: bool = False
    origins: list[str] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)
    upload_dir: Path | None = None


def shop(received: list):
    return plugin(
        "shop",
        lamina_settings_schema=lambda: ShopSettings,
        lamina_configure=lambda app, settings: received.append(settings),
    )


def test_constructor_settings_are_validated_and_delivered():
    received = []
    app = make_app(
        shop(received),
        settings={
            "shop": {
                "secret_key": "s3cret",
                "currency": "USD",
                "max_items": "7",
                "ratio": 2,
                "debug": "yes",
                "origins": ["https://a.example"],
                "limits": {"x": 1},
                "upload_dir": "/tmp/up",
            }
        },
    )
    (settings,) = received
    assert settings == ShopSettings(
        secret_key=Secret("s3cret"),
        currency="USD",
        max_items=7,
        ratio=2.0,
        debug=True,
        origins=["https://a.example"],
        limits={"x": 1},
        upload_dir=Path("/tmp/up"),
    )
    assert isinstance(settings.secret_key, Secret)
    assert "s3cret" not in repr(settings)
    assert next(i for i in app.plugin_infos if i.name == "shop").settings == "ok"


def test_every_error_is_reported_at_once_with_plugin_key_expected_got():
    received = []
    with pytest.raises(SettingsError) as info:
        make_app(
            shop(received),
            settings={
                "shop": {"currency": "GBP", "max_items": "many", "origins": "x", "colour": 1},
                "lamina": {"debug": 3},
                "nonexistent": {"a": 1},
            },
        )
    errors = info.value.errors
    text = "\n".join(errors)
    assert received == []  # nobody was configured
    expected = [
        "[shop] (local) unknown setting 'colour'",
        "[shop] (local) secret_key: required setting is missing (expected Secret)",
        "[shop] (local) currency: expected Literal['EUR', 'USD'], got str 'GBP'",
        "[shop] (local) max_items: expected int, got str 'many'",
        "[shop] (local) origins: expected list[str], got str 'x'",
        "[lamina] debug: expected bool, got int 3",
        "[nonexistent] unknown settings section",
    ]
    for part in expected:
        assert part in text
    assert len(errors) == len(expected)


def test_settings_for_a_plugin_without_schema_are_an_error():
    with pytest.raises(SettingsError, match=r"\[quiet\].*takes no settings"):
        make_app(plugin("quiet", lamina_lifespan=lambda: None), settings={"quiet": {"a": 1}})


def test_lamina_toml_is_read_and_constructor_wins(tmp_path, monkeypatch):
    (tmp_path / "lamina.toml").write_text(
        '[shop]\nsecret_key = "from-file"\nmax_items = 3\ncurrency = "USD"\n'
        "[lamina]\ndebug = true\n"
    )
    monkeypatch.chdir(tmp_path)
    received = []
    # an app reads ./lamina.toml; make_app (for tests) reads a file only when given one
    app = Lamina(plugins=[shop(received)], autoload=False, settings={"shop": {"max_items": 9}})
    assert received[0].secret_key == "from-file"
    assert (received[0].max_items, received[0].currency) == (9, "USD")
    assert app.debug is True


def test_a_section_that_is_not_a_table_is_reported_not_crashed_on(tmp_path):
    flat = tmp_path / "flat.toml"
    flat.write_text('shop = 5\nlamina = "debug"\n')  # keys where sections belong
    with pytest.raises(SettingsError) as info:
        make_app(shop([]), settings_file=str(flat))
    assert info.value.errors == [
        "[lamina] expected a table of settings, got str; write it as a [lamina] section",
        "[shop] (local) expected a table of settings, got int; write it as a [shop] section",
    ]
    with pytest.raises(SettingsError) as info:
        make_app(shop([]), settings={"shop": ["secret_key"]})
    assert info.value.errors == [
        "[shop] (local) expected a table of settings, got list; write it as a [shop] section"
    ]
    # a table from the constructor replaces the file's non-table whole
    received = []
    make_app(
        shop(received),
        settings_file=str(flat),
        settings={"shop": {"secret_key": "k"}, "lamina": {}},
    )
    assert received[0].secret_key == "k"


def test_settings_file_argument_and_environment_variable(tmp_path, monkeypatch):
    custom = tmp_path / "custom.toml"
    custom.write_text('[shop]\nsecret_key = "custom"\n')
    received = []
    make_app(shop(received), settings_file=str(custom))
    monkeypatch.setenv("LAMINA_SETTINGS_FILE", str(custom))
    Lamina(plugins=[shop(received)], autoload=False)
    assert [s.secret_key for s in received] == ["custom", "custom"]


def test_make_app_reads_no_file_unless_given_one(tmp_path, monkeypatch):
    """A test sees only its own settings: neither ./lamina.toml nor $LAMINA_SETTINGS_FILE."""
    (tmp_path / "lamina.toml").write_text('[shop]\nsecret_key = "from-file"\nmax_items = x\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAMINA_SETTINGS_FILE", str(tmp_path / "lamina.toml"))
    received = []
    make_app(shop(received), settings={"shop": {"secret_key": "given"}})
    make_app(shop(received), settings={"shop": {"secret_key": "given"}}, settings_file=None)
    assert [s.secret_key.reveal() for s in received] == ["given", "given"]
    with pytest.raises(SettingsError, match="invalid TOML"):  # asked for: read
        make_app(shop(received), settings_file="lamina.toml")


def test_devnull_is_no_settings_and_an_empty_path_or_a_directory_is_named(tmp_path):
    import os

    received = []
    make_app(shop(received), settings={"shop": {"secret_key": "k"}}, settings_file=os.devnull)
    assert received[0].max_items == 10
    with pytest.raises(SettingsError, match="empty path; name a TOML file, or pass None"):
        make_app(settings_file="")
    with pytest.raises(SettingsError, match="is a directory, not a TOML file"):
        make_app(settings_file=str(tmp_path))


def test_missing_explicit_file_and_invalid_toml_are_errors(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        make_app(settings_file=str(tmp_path / "nope.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[shop\n")
    with pytest.raises(SettingsError, match="invalid TOML"):
        make_app(settings_file=str(bad))


def test_secrets_from_the_environment(monkeypatch):
    received = []
    monkeypatch.setenv("SHOP_SECRET", "env-secret")
    make_app(
        shop(received),
        settings={
            "shop": {
                "secret_key": {"env": "SHOP_SECRET"},
                "max_items": {"env": "UNSET_X", "default": 4},
            }
        },
    )
    assert received[0].secret_key.reveal() == "env-secret"
    assert received[0].max_items == 4
    with pytest.raises(SettingsError) as info:
        make_app(shop([]), settings={"shop": {"secret_key": {"env": "SHOP_SECRET_MISSING"}}})
    assert info.value.errors == [
        "[shop] (local) secret_key: environment variable 'SHOP_SECRET_MISSING' is not set"
    ]


def test_a_secret_value_never_appears_in_an_error():
    errors: list[str] = []

    @dataclass
    class S:
        token: int

    validate_section("p", S, {"token": Secret("hunter2")}, errors)
    assert errors == ["[p] token: expected int, got a secret"]


@dataclass(frozen=True)
class _Keyed:
    secret_key: Secret | list[Secret]
    rotated: dict[str, Secret] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.secret_key, str) and len(self.secret_key) < 12:
            raise ValueError(f"secret_key {self.secret_key.reveal()!r} is shorter than 12")


@dataclass(frozen=True)
class _Nested:
    keys: _Keyed


@pytest.mark.parametrize(
    "section",
    [
        {"secret_key": ["good-key-1234", 987654]},  # the case: a list, one bad item
        {"secret_key": ["good-key-1234", ["good-key-1234"]]},  # a list inside the list
        {"secret_key": {"good-key-1234": 1}},  # a table where a string belongs
        {"secret_key": {"value": "good-key-1234"}},
        {"secret_key": {"env": "NOPE_UNSET_VAR", "defualt": "good-key-1234"}},  # typo'd env
        {"secret_key": ("good-key-1234", None)},
        {"secret_key": 12345678901234},  # a number: a secret too
        {"secret_key": b"good-key-1234"},
        {"secret_key": "good-key-1234", "rotated": {"old": 42, "older": "good-key-1234x"}},
        {"secret_key": "good-key-123"[:11]},  # refused by __post_init__, which quotes it
    ],
)
def test_no_secret_in_any_error_or_repr_whatever_its_shape(section):
    secret_strings = ("good-key-1234", "good-key-12", "12345678901234", "987654")
    for schema, data in ((_Keyed, section), (_Nested, {"keys": section})):
        errors: list[str] = []
        assert validate_section("p", schema, data, errors) is None
        assert errors, "the wrong value must be reported"
        error = SettingsError(errors)
        for text in (*errors, str(error), repr(error)):
            for secret in secret_strings:
                assert secret not in text, text
    # the whole section where a table belongs: shown by type only
    for wrong in (["good-key-1234"], "good-key-1234", {"good-key-1234"}):
        errors = []
        validate_section("p", _Keyed, wrong, errors)  # type: ignore[arg-type]
        assert errors and "good-key" not in errors[0]


def test_a_valid_secret_never_shows_in_the_settings_repr():
    errors: list[str] = []
    settings = validate_section(
        "p", _Keyed, {"secret_key": ["good-key-1234", "next-key-5678"]}, errors
    )
    assert errors == []
    assert "good-key" not in repr(settings) and "next-key" not in repr(settings)
    assert settings.secret_key[0].reveal() == "good-key-1234"


def test_entry_point_plugin_errors_name_distribution_and_version(tmp_path, monkeypatch):
    from tests.helpers.distributions import install_distribution

    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-zconf",
        version="3.1.4",
        entry_points={"zconf": "lamina_zconf"},
        modules={
            "lamina_zconf": (
                "from dataclasses import dataclass\nfrom lamina import hookimpl\n"
                "@dataclass\nclass S:\n    level: int\n"
                "@hookimpl\ndef lamina_settings_schema():\n    return S\n"
            )
        },
    )
    with pytest.raises(SettingsError) as info:
        make_app("zconf")
    assert info.value.errors == [
        "[zconf] (lamina-zconf 3.1.4) level: required setting is missing (expected int); "
        "set it in the [zconf] section of lamina.toml or in Lamina(settings=...)"
    ]


def test_kernel_settings():
    app = make_app(settings={"lamina": {"max_body_size": 1024}}, debug=True)
    assert (app.settings.max_body_size, app.debug) == (1024, True)
    assert make_app(settings={"lamina": {"max_body_size": None}}).max_body_size is None
    with pytest.raises(SettingsError) as info:
        make_app(settings={"lamina": {"max_body_size": -1, "max_form_fields": 10}})
    assert info.value.errors == ["[lamina] max_body_size must be 0 or more, got -1"]


@dataclass(frozen=True)
class Limits:
    burst: int
    rate: float = 1.0

    def __post_init__(self):
        if self.burst < 1:
            raise ValueError("burst must be at least 1")


@dataclass(frozen=True)
class Throttle:
    limits: Limits
    name: str = "t"


def test_nested_sections_and_post_init_validation():
    received = []
    throttle = plugin(
        "throttle",
        lamina_settings_schema=lambda: Throttle,
        lamina_configure=lambda settings: received.append(settings),
    )
    make_app(throttle, settings={"throttle": {"limits": {"burst": "3"}}})
    assert received == [Throttle(limits=Limits(burst=3))]
    with pytest.raises(SettingsError) as info:
        make_app(throttle, settings={"throttle": {"limits": {"burst": "x", "extra": 1}}})
    assert info.value.errors == [
        "[throttle] (local) unknown setting 'limits.extra' (known settings: burst, rate)",
        "[throttle] (local) limits.burst: expected int, got str 'x'",
    ]
    with pytest.raises(SettingsError) as info:
        make_app(throttle, settings={"throttle": {"limits": {"burst": 0}}})
    assert info.value.errors == ["[throttle] (local) limits: burst must be at least 1"]
    with pytest.raises(SettingsError, match="expected a table of Limits settings"):
        make_app(throttle, settings={"throttle": {"limits": 5}})


def test_unresolvable_type_hints_are_reported_not_raised():
    @dataclass
    class Local:
        value: UndefinedName  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(SettingsError, match="cannot read the type hints"):
        make_app(plugin("odd", lamina_settings_schema=lambda: Local))


TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "secret_key",
                "currency",
                "max_items",
                "ratio",
                "debug",
                "origins",
                "limits",
                "upload_dir",
                "unknown",
            ]
        ),
        TOML_VALUES | st.fixed_dictionaries({"env": st.sampled_from(["HOME", "LAMINA_NOPE"])}),
    )
)
def test_no_section_content_makes_validation_raise(section):
    errors: list[str] = []
    result = validate_section("shop", ShopSettings, section, errors)
    assert (result is None) == bool(errors)
    if result is not None:
        assert isinstance(result, ShopSettings)
    for error in errors:
        assert error.startswith("[shop] ")


def test_numbers_and_flags_from_the_environment_are_converted(monkeypatch):
    received = []
    monkeypatch.setenv("SHOP_RATIO", "2.5")
    monkeypatch.setenv("SHOP_ITEMS", "7")
    monkeypatch.setenv("SHOP_DEBUG", "true")
    make_app(
        shop(received),
        settings={
            "shop": {
                "secret_key": "k",
                "ratio": {"env": "SHOP_RATIO"},
                "max_items": {"env": "SHOP_ITEMS"},
                "debug": {"env": "SHOP_DEBUG"},
            }
        },
    )
    assert (received[0].ratio, received[0].max_items, received[0].debug) == (2.5, 7, True)
    monkeypatch.setenv("SHOP_RATIO", "nan")
    with pytest.raises(SettingsError) as info:
        make_app(shop([]), settings={"shop": {"secret_key": "k", "ratio": {"env": "SHOP_RATIO"}}})
    assert "ratio: expected float" in info.value.errors[0]


def test_a_misspelt_key_or_section_gets_did_you_mean_and_never_shows_its_value():
    received = []
    typed = "hunter2-a-secret-value-typed-under-a-misspelt-key"
    with pytest.raises(SettingsError) as info:
        make_app(
            shop(received),
            settings={
                "shop": {"secret_kye": typed, "max_itmes": 3},
                "shpo": {"secret_key": typed},
                "lamna": {"debug": True},
            },
        )
    text = "\n".join(info.value.errors)
    assert "unknown setting 'secret_kye' (did you mean 'secret_key'?)" in text
    assert "unknown setting 'max_itmes' (did you mean 'max_items'?)" in text
    assert "[shpo] unknown settings section (did you mean 'shop'?)" in text
    assert "[lamna] unknown settings section (did you mean 'lamina'?)" in text
    assert typed not in text and typed not in repr(info.value)
    # a name close to nothing gets no guess, only the list
    with pytest.raises(SettingsError) as info:
        make_app(shop(received), settings={"shop": {"secret_key": "k", "zzz": 1}})
    assert info.value.errors == [
        "[shop] (local) unknown setting 'zzz' (known settings: currency, debug, limits, "
        "max_items, origins, ratio, secret_key, upload_dir)"
    ]


def test_a_misspelt_nested_key_is_matched_against_its_own_table():
    throttle = plugin("throttle", lamina_settings_schema=lambda: Throttle)
    with pytest.raises(SettingsError) as info:
        make_app(throttle, settings={"throttle": {"limits": {"burst": 2, "rtae": 1}}})
    assert info.value.errors == [
        "[throttle] (local) unknown setting 'limits.rtae' (did you mean 'rate'?) "
        "(known settings: burst, rate)"
    ]
