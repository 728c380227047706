import json
import pickle

import pytest
import torch

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
