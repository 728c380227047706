import json
import os
import pickle
import tomllib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeguard as pg
from pipeguard import ContractFieldError


def test_derives_shape_and_numel():
    c = pg.Contract(channels=3, size=(224, 224))
    assert c.shape == (3, 224, 224)
    assert c.numel == 150528
    assert (c.height, c.width) == (224, 224)


def test_derives_channels_from_size_and_numel():
    assert pg.Contract(size=(28, 28), numel=784).channels == 1
    assert pg.Contract(size=(32, 32), numel=3072).shape == (3, 32, 32)


def test_numel_alone_and_size_forms():
    c = pg.Contract(numel=50176)
    assert c.shape is None and c.numel == 50176 and c.channels is None
    assert pg.Contract(size=64).size == (64, 64)
    assert pg.Contract(size="48x32").size == (48, 32)
    assert pg.Contract(size=[10, 20]).size == (10, 20)


@pytest.mark.parametrize("dtype, name", [
    ("float32", "float32"), ("torch.float32", "float32"), (torch.float32, "float32"),
    ("float", "float32"), ("uint8", "uint8"), (torch.float16, "float16"), ("bfloat16", "bfloat16"),
])
def test_dtype_is_normalised(dtype, name):
    assert pg.Contract(dtype=dtype).dtype == name


@pytest.mark.parametrize("kwargs, field", [
    ({"channels": 0}, "channels"),
    ({"channels": -3}, "channels"),
    ({"channels": 2.5}, "channels"),
    ({"channels": True}, "channels"),
    ({"channels": "3"}, "channels"),
    ({"size": (0, 224)}, "size"),
    ({"size": (-1, 224)}, "size"),
    ({"size": (224,)}, "size"),
    ({"size": "224 by 224"}, "size"),
    ({"numel": 0}, "numel"),
    ({"numel": -5}, "numel"),
    ({"channels": 3, "size": (224, 224), "numel": 50176}, "numel"),
    ({"size": (10, 10), "numel": 150}, "numel"),
    ({"channels": 3, "numel": 100}, "numel"),
    ({"dtype": "float33"}, "dtype"),
    ({"dtype": "Tensor"}, "dtype"),
    ({"value_range": (1, 0)}, "value_range"),
    ({"value_range": (0, float("nan"))}, "value_range"),
    ({"value_range": (0,)}, "value_range"),
    ({"name": 5}, "name"),
])
def test_bad_values_raise_value_error_naming_the_field(kwargs, field):
    with pytest.raises(ValueError) as info:
        pg.Contract(**kwargs)
    assert isinstance(info.value, ContractFieldError)
    assert info.value.field == field
    assert repr(field) in str(info.value)


def test_immutable_hashable_equal_by_value():
    a = pg.Contract(channels=3, size=(224, 224), name="imagenet")
    b = pg.Contract(channels=3, size=224, numel=150528, name="imagenet")
    assert a == b and hash(a) == hash(b)
    assert a != pg.Contract(channels=1, size=(224, 224), name="imagenet")
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.channels = 1
    assert pickle.loads(pickle.dumps(a)) == a


def test_repr_shows_set_fields_only():
    c = pg.Contract(channels=1, size=(28, 28), dtype="float32", name="mnist")
    assert repr(c) == "Contract(name='mnist', channels=1, size=(28, 28), numel=784, dtype='float32')"
    assert repr(pg.Contract(numel=10)) == "Contract(numel=10)"


def test_keyword_only():
    with pytest.raises(TypeError):
        pg.Contract(3, (224, 224))


def test_to_dict_round_trip():
    c = pg.Contract(channels=3, size=(32, 32), dtype="float32", value_range=(0, 1), name="cifar")
    d = c.to_dict()
    assert d == {"name": "cifar", "channels": 3, "size": [32, 32], "numel": 3072,
                 "dtype": "float32", "value_range": [0.0, 1.0]}
    assert pg.Contract.from_dict(d) == c


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_save_load_round_trip(tmp_path, suffix):
    c = pg.Contract(channels=1, size=(28, 28), dtype="float32", value_range=(-1, 1), name='mnist "digits"')
    path = tmp_path / f"contract{suffix}"
    c.save(path)
    assert pg.Contract.load(path) == c
    if suffix == ".json":
        assert json.loads(path.read_text())["size"] == [28, 28]


def test_load_from_pyproject(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n[tool.pipeguard]\nchannels = 3\nsize = "224x224"\nname = "imagenet"\n')
    assert pg.Contract.load(path) == pg.Contract(channels=3, size=(224, 224), name="imagenet")


def test_pyproject_without_table_is_an_error(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    with pytest.raises(pg.ContractFileError, match=r"pyproject.toml.*no \[tool.pipeguard\]"):
        pg.Contract.load(path)


@pytest.mark.parametrize("text, key", [
    ("channels = 0\n", "channels"),
    ("channels = 3\ncolour = true\n", "colour"),
    ('size = [224]\n', "size"),
    ('dtype = "float33"\n', "dtype"),
    ("channels = 3\nsize = [2, 2]\nnumel = 5\n", "numel"),
])
def test_malformed_file_names_file_and_key(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        pg.Contract.load(path)
    assert isinstance(info.value, pg.ContractFileError)
    assert info.value.key == key
    assert "bad.toml" in str(info.value) and repr(key) in str(info.value)


def test_invalid_toml_and_json_and_missing_file(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("channels = = 3\n")
    with pytest.raises(pg.ContractFileError, match="c.toml: not valid TOML"):
        pg.Contract.load(bad)
    bad_json = tmp_path / "c.json"
    bad_json.write_text("{channels: 3}")
    with pytest.raises(pg.ContractFileError, match="c.json: not valid JSON"):
        pg.Contract.load(bad_json)
    with pytest.raises(pg.ContractFileError, match="missing.toml: cannot be read"):
        pg.Contract.load(tmp_path / "missing.toml")


PYPROJECT = '''# the project's own notes
[project]
name = "demo"  # keep this comment
dependencies = [
    "torch>=2.4",   # pinned below 3
]

[tool.black]
line-length = 100

[tool.pipeguard]
channels = 1          # old contract
dtype = "uint8"

[tool.other]
x = 1
'''


@pytest.mark.parametrize("name", ["pyproject.toml", "settings.toml"])
def test_save_into_pyproject_updates_only_its_table(tmp_path, name):
    path = tmp_path / name
    path.write_text(PYPROJECT)
    c = pg.Contract(channels=3, size=(224, 224), name="imagenet")
    c.save(path)
    text = path.read_text()
    assert pg.Contract.load(path) == c
    data = tomllib.loads(text)
    assert data["project"] == {"name": "demo", "dependencies": ["torch>=2.4"]}
    assert data["tool"]["black"] == {"line-length": 100} and data["tool"]["other"] == {"x": 1}
    assert "dtype" not in data["tool"]["pipeguard"]       # the old table's keys are gone
    for kept in ("# the project's own notes", "# keep this comment", "# pinned below 3",
                 "[tool.black]\nline-length = 100\n", "[tool.other]\nx = 1\n"):
        assert kept in text
    # everything outside [tool.pipeguard] is byte for byte as it was
    before = PYPROJECT.split("[tool.pipeguard]")
    assert text.startswith(before[0]) and text.endswith("[tool.other]\nx = 1\n")


def test_save_into_pyproject_without_table_appends_one(tmp_path):
    path = tmp_path / "pyproject.toml"
    original = '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 99\n'
    path.write_text(original)
    pg.Contract(numel=50176).save(path)
    assert path.read_text().startswith(original)
    assert pg.Contract.load(path) == pg.Contract(numel=50176)
    assert tomllib.loads(path.read_text())["tool"]["ruff"] == {"line-length": 99}


def test_save_into_new_pyproject_loads_back(tmp_path):
    path = tmp_path / "pyproject.toml"
    pg.Contract(channels=3).save(path)
    assert "[tool.pipeguard]" in path.read_text()
    assert pg.Contract.load(path) == pg.Contract(channels=3)


def test_save_refuses_to_clobber_a_broken_pyproject(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[project\nname = ")
    with pytest.raises(pg.ContractFileError, match="not overwritten"):
        pg.Contract(channels=3).save(path)
    assert path.read_text() == "[project\nname = "


def test_save_plain_contract_replaces_it(tmp_path):
    path = tmp_path / "contract.toml"
    path.write_text("channels = 1\ndtype = 'uint8'\n")
    pg.Contract(channels=3).save(path)
    assert tomllib.loads(path.read_text()) == {"channels": 3}


def test_save_is_atomic_and_keeps_mode_and_links(tmp_path, monkeypatch):
    real = tmp_path / "real.toml"
    real.write_text(PYPROJECT)
    real.chmod(0o640)
    link = tmp_path / "pyproject.toml"
    link.symlink_to(real)
    pg.Contract(channels=3).save(link)
    assert link.is_symlink() and (real.stat().st_mode & 0o777) == 0o640
    assert pg.Contract.load(link) == pg.Contract(channels=3)
    # a crash while writing leaves the old file whole and no temporary file behind
    before = real.read_text()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        pg.Contract(channels=1).save(link)
    assert real.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml", "real.toml"]


@pytest.mark.parametrize("fields, field", [
    ({"value_range": (0, 10**400)}, "value_range"),
    ({"value_range": (-(10**5000), 0)}, "value_range"),
    ({"value_range": (0, float("nan"))}, "value_range"),
    ({"value_range": (np.bool_(False), 1)}, "value_range"),
    ({"channels": 10**400}, "channels"),
    ({"numel": 2**63}, "numel"),
    ({"size": (10**400, 2)}, "size"),
    ({"size": "99999999999999999999999x2"}, "size"),
    ({"size": "²x2"}, "size"),
    ({"channels": 2**40, "size": (2**40, 2**40)}, "numel"),
    ({"name": 10**5000}, "name"),
    ({"dtype": 10**5000}, "dtype"),
])
def test_out_of_range_fields_are_field_errors(fields, field):
    with pytest.raises(ContractFieldError) as info:
        pg.Contract(**fields)
    assert info.value.field == field and len(str(info.value)) < 200


def test_numpy_scalars_are_numbers():
    c = pg.Contract(channels=np.int64(3), size=(np.int32(8), np.uint16(8)),
                    value_range=(np.float32(0), np.int64(255)))
    assert (c.shape, c.value_range) == ((3, 8, 8), (0.0, 255.0))
    assert type(c.channels) is int and type(c.value_range[1]) is float


def _odd_values():
    numberish = st.one_of(
        st.integers(), st.integers(min_value=2**62, max_value=2**70), st.sampled_from([10**400, -(10**400)]),
        st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
        st.integers(-(2**70), 2**70).map(lambda i: np.int64(i % 2**63)), st.floats(width=32).map(np.float32),
        st.sampled_from([np.bool_(True), np.float64("nan"), torch.tensor(3)]))
    odd = st.one_of(
        numberish, st.none(), st.text(max_size=8), st.binary(max_size=4), st.just(torch.float16),
        st.sampled_from(["224x224", "0x1", "3x-1", "1e3", "float32", "uint8", "__class__", "２x2", "²x2"]))
    return st.one_of(odd, st.tuples(numberish, numberish), st.tuples(odd, odd), st.lists(odd, max_size=3))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["channels", "size", "numel", "dtype", "value_range", "name"]),
                       _odd_values(), max_size=3))
def test_any_odd_field_value_is_a_field_error_or_a_contract(fields):
    try:
        c = pg.Contract(**fields)
    except ContractFieldError as exc:
        assert (exc.field in fields or exc.field == "numel") and str(exc)  # numel: the derived product
        return
    assert pg.Contract.from_dict(c.to_dict()) == c
    assert c.label and repr(c)
