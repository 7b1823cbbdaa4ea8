"""gradwatch on its own: imports without the course, monitors a plain model, diagnoses it."""

import math
import subprocess
import sys

import torch
from torch import nn

import gradwatch


def test_imports_without_the_course_package():
    code = "import sys, gradwatch; assert not any(m.startswith('helpers') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_plain_model_is_monitored_and_diagnosed():
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = (x[:, :1] * x[:, 1:] > 0).float()
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.BCEWithLogitsLoss()
    with gradwatch.GradientMonitor(model, every=1, forward_stats=True) as monitor:
        for _ in range(200):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            monitor.record(loss)
            optimizer.step()
    assert monitor.grad_norms.shape == (200, 2) and monitor.layer_names == ["0", "2"]
    assert monitor.losses[-1] < 0.5 * math.log(2)
    verdict = gradwatch.diagnose(monitor, baseline=math.log(2))
    assert verdict.label in {"converged", "healthy"}


def test_gradient_profile_matches_autograd():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1))
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    nn.functional.mse_loss(model(x), y).backward()
    want = [model[0].weight.grad.norm().item(), model[2].weight.grad.norm().item()]
    got = gradwatch.gradient_profile(model, x, y)
    assert all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(got, want, strict=True))
