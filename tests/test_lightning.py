"""``pipeguard.lightning.ContractCheck`` in a real Lightning fit on CPU: tiny model, a few batches."""

import copy
import logging
import subprocess
import sys
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import pipeguard as pg

L = pytest.importorskip("lightning.pytorch", reason="pipeguard[lightning] is not installed")
from pipeguard.lightning import ContractCheck  # noqa: E402

SIDE = 8
CONTRACT = pg.Contract(channels=3, size=(SIDE, SIDE))


class Net(L.LightningModule):
    """A conv net whose classifier fits 8×8 inputs only (``pooled=False``), or any size."""

    def __init__(self, channels=3, pooled=False):
        super().__init__()
        head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)] if pooled else \
            [nn.Flatten(), nn.Linear(4 * (SIDE - 2) ** 2, 2)]
        self.net = nn.Sequential(nn.Conv2d(channels, 4, 3), *head)
        self.seen = []

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.seen.append(x.clone())
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


class Batches(Dataset):
    """Ready-made batches (use with ``batch_size=None``), so one batch can differ from the rest."""

    def __init__(self, shapes):
        gen = torch.Generator().manual_seed(0)
        self.items = [(torch.rand(shape, generator=gen), torch.zeros(shape[0], dtype=torch.long)) for shape in shapes]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def loader(channels, n=8, side=SIDE):
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.rand(n, channels, side, side, generator=gen), torch.randint(0, 2, (n,), generator=gen))
    return DataLoader(data, batch_size=2)


def fit(model, data, callback, steps=4):
    trainer = L.Trainer(accelerator="cpu", max_steps=steps, max_epochs=1, callbacks=[callback], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on num_workers and logging
        trainer.fit(model, data)
    return trainer


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("contract", [CONTRACT, None], ids=["given", "from_model"])
def test_a_conforming_fit_runs_normally_and_sees_the_batches_unchanged(contract):
    model, data = Net(), loader(3)
    before = weights(model)
    trainer = fit(model, data, ContractCheck(contract, every_batch=True))
    assert trainer.global_step == 4 and len(model.seen) == 4
    assert all(torch.equal(seen, x) for seen, (x, _) in zip(model.seen, data))
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # it trained


@pytest.mark.parametrize("contract", [CONTRACT, None], ids=["given", "from_model"])
def test_a_one_channel_loader_raises_before_any_training_step(contract):
    model = Net()
    before = weights(model)
    with pytest.raises(pg.ContractViolation) as caught:
        fit(model, loader(1), ContractCheck(contract))
    err = caught.value
    assert err.reasons == [pg.Reason.CHANNELS] and "training batch 0 of epoch 0" in err.stage
    assert "stage     training batch 0 of epoch 0, before the optimizer step" in str(err)
    assert "has 1 channel, not the 3 expected" in str(err) and "EnsureChannels(3)" in str(err)
    assert model.seen == [] and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_model_that_does_not_accept_the_contract_raises_at_fit_start_with_the_trace():
    model = Net(channels=1)
    with pytest.raises(pg.ContractViolation) as caught:
        fit(model, loader(3), ContractCheck(CONTRACT))
    text = str(caught.value)
    assert "Net does not accept the contract: an input of [1, 3, 8, 8] (float32) breaks it" in text
    assert "Conv2d(in_channels=1) receives 3 channels" in text and model.seen == []


def test_every_batch_explains_the_first_batch_that_differs():
    shapes = [(2, 3, SIDE, SIDE), (2, 3, SIDE, SIDE), (2, 3, 16, 16), (2, 3, SIDE, SIDE)]
    model = Net(pooled=True)  # runs on any size: only the callback can object
    with pytest.raises(pg.ContractViolation) as caught:
        fit(model, DataLoader(Batches(shapes), batch_size=None), ContractCheck(CONTRACT, every_batch=True))
    assert caught.value.reasons == [pg.Reason.SIZE] and "training batch 2" in caught.value.stage
    assert len(model.seen) == 2
    quiet = Net(pooled=True)
    fit(quiet, DataLoader(Batches(shapes), batch_size=None), ContractCheck(CONTRACT))  # first batch only
    assert len(quiet.seen) == 4


def test_a_channels_only_contract_is_traced_at_the_first_batch_size():
    model = Net()  # its classifier wants 8×8: a 10×10 batch breaks it, and the trace says so
    with pytest.raises(pg.ContractViolation) as caught:
        fit(model, loader(3, side=10), ContractCheck(pg.Contract(channels=3)))
    assert "an input of [1, 3, 10, 10]" in str(caught.value) and "in_features" in str(caught.value)
    assert model.seen == []


def test_the_older_pytorch_lightning_trainer_runs_it_too():
    pl = pytest.importorskip("pytorch_lightning")

    class OldNet(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = Net().net
            self.steps = 0

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            self.steps += 1
            return nn.functional.cross_entropy(self(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.5)

    def old_fit(model, data):
        trainer = pl.Trainer(accelerator="cpu", max_steps=2, callbacks=[ContractCheck()], logger=False,
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(model, data)

    model = OldNet()
    old_fit(model, loader(3))
    assert model.steps == 2
    model = OldNet()
    with pytest.raises(pg.ContractViolation, match="has 1 channel, not the 3 expected"):
        old_fit(model, loader(1))
    assert model.steps == 0


def test_without_lightning_the_error_names_the_extra():
    code = ("import sys; sys.modules['lightning'] = None; sys.modules['lightning.pytorch'] = None; "
            "sys.modules['pytorch_lightning'] = None\n"
            "try:\n    from pipeguard.lightning import ContractCheck\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "pip install 'pipeguard[lightning]'" in out


def test_every_batch_without_a_contract_compares_later_batches_with_the_first(tmp_path):
    """The contract read from the model has channels only: a 224->200 batch passed unseen."""
    shapes = [(2, 3, SIDE, SIDE), (2, 3, 10, 10), (2, 3, SIDE, SIDE)]
    model = Net(pooled=True)  # runs on any size
    with pytest.raises(pg.ContractViolation) as caught:
        fit(model, DataLoader(Batches(shapes), batch_size=None), ContractCheck(every_batch=True))
    assert caught.value.reasons == [pg.Reason.SIZE] and "training batch 1" in caught.value.stage
    assert "10×10 (H×W), not the 8×8 expected" in str(caught.value) and "sized by the first batch" in str(caught.value)
    assert len(model.seen) == 1


class NoForward(L.LightningModule):
    """No ``forward``: ``training_step`` calls ``self.net(x)``. ``ema=True`` adds a frozen copy of
    the net (a teacher), so no one submodule is the obvious network."""

    def __init__(self, channels=3, ema=False):
        super().__init__()
        self.net = Net(channels).net
        self.ema = copy.deepcopy(self.net).requires_grad_(False) if ema else None
        self.seen = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.seen.append(x.clone())
        return nn.functional.cross_entropy(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.net.parameters(), lr=0.5)


def notes(caplog):
    return [r for r in caplog.records if r.name.startswith("pipeguard") and "has no forward" in r.getMessage()]


@pytest.mark.parametrize("contract", [CONTRACT, None], ids=["given", "from_model"])
def test_a_module_without_forward_is_traced_through_its_net_and_its_batches_checked(caplog, contract):
    model = NoForward()
    before = weights(model)
    with caplog.at_level(logging.INFO, logger="pipeguard"):
        trainer = fit(model, loader(3), ContractCheck(contract, every_batch=True), steps=2)
    assert trainer.global_step == 2 and len(model.seen) == 2
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # it trained
    [note] = notes(caplog)
    assert note.getMessage() == ("NoForward has no forward: tracing NoForward.net (Sequential), "
                                 "its one submodule with weights, instead")
    model = NoForward()
    with pytest.raises(pg.ContractViolation) as caught:
        fit(model, loader(1), ContractCheck(contract), steps=2)
    assert caught.value.reasons == [pg.Reason.CHANNELS] and "training batch 0 of epoch 0" in caught.value.stage
    assert model.seen == []


def test_a_module_without_forward_whose_net_does_not_accept_the_contract_is_warned_not_stopped(caplog):
    """The net is traced in forward's place, a guess (training_step may reshape the batch before
    it): its failure is a warning with the trace, and the fit goes on to fail or not on its own."""
    class Flattening(NoForward):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(3 * 8 * 8, 2)

        def training_step(self, batch, batch_idx):
            x, y = batch
            self.seen.append(x.clone())
            return nn.functional.cross_entropy(self.net(x.view(len(x), -1)), y)

    model = Flattening()
    with caplog.at_level(logging.INFO, logger="pipeguard"):
        trainer = fit(model, loader(3), ContractCheck(CONTRACT), steps=2)
    assert trainer.global_step == 2 and len(model.seen) == 2
    [warned] = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("pipeguard")]
    text = warned.getMessage()
    assert "Flattening.net does not accept the contract: an input of [1, 3, 8, 8] (float32) breaks it" in text
    assert text.endswith("(not raised: Flattening.net is traced in place of the missing forward, "
                         "and training_step may change the batch before it)")


@pytest.mark.parametrize("contract", [CONTRACT, None], ids=["given", "from_model"])
def test_a_module_without_one_network_fits_untraced_and_says_so_once(caplog, contract):
    model = NoForward(ema=True)
    with caplog.at_level(logging.INFO, logger="pipeguard"):
        trainer = fit(model, loader(3), ContractCheck(contract, every_batch=True), steps=2)
    assert trainer.global_step == 2 and len(model.seen) == 2
    [note] = notes(caplog)
    assert note.levelno == logging.WARNING
    assert note.getMessage() == (
        "NoForward has no forward, so the model could not be traced: it has 2 submodules with weights "
        "(net, ema), not one network; the training batches are still checked against the contract "
        "(define NoForward.forward to trace it)")
    model = NoForward(ema=True)  # the batches are still checked
    with pytest.raises(pg.ContractViolation, match="has 1 channel, not the 3 expected"):
        fit(model, loader(1), ContractCheck(contract), steps=2)
    assert model.seen == []
