"""The quickstart notebook runs top to bottom, and `model.cross_attentions` (which it plots)
equals the reference's `output_attentions=True` cross-attention weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from reference import build_reference, random_batch, save_reference

from s2t2_jax import model as M
from s2t2_jax.pytorch import read_hf_folder

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"


@pytest.mark.parametrize("name", ["group_postln_proj", "layer_stable_bias_noproj_oddheads",
                                  "adapter_proj_to_dmodel"])
def test_cross_attentions_match_reference(name, tmp_path):
    import torch

    ref = build_reference(name, seed=11)
    config, params = read_hf_folder(save_reference(ref, tmp_path), progress=False)
    x, mask = random_batch([2400, 1500, 1100], seed=12)
    ids = np.random.default_rng(13).integers(3, config.decoder.vocab_size, (3, 7))
    ids[:, 0] = config.start_token_id
    ids[2, 5:] = config.decoder.pad_token_id
    with torch.no_grad():
        out = ref(input_values=torch.tensor(x), attention_mask=torch.tensor(mask),
                  decoder_input_ids=torch.tensor(ids), output_attentions=True)
    want = np.stack([a.numpy() for a in out.cross_attentions])
    got = np.asarray(M.cross_attentions(params, config, x, ids, mask))
    assert got.shape == want.shape == (
        config.decoder.decoder_layers, 3, config.decoder.decoder_attention_heads, 7, want.shape[-1])
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
    # Logits are unchanged by recording the weights (and equal the reference's).
    logits = np.asarray(M.forward(params, config, x, ids, mask)["logits"])
    np.testing.assert_allclose(logits, out.logits.numpy(), atol=1e-4, rtol=0)


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "saved with outputs"
    monkeypatch.delenv("S2T2_MODEL", raising=False)  # the shipped default model
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    # The kernel runs this interpreter (the project's venv), whatever kernels are installed.
    spec = tmp_path / "jupyter" / "kernels" / "s2t2-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "s2t2 test", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="s2t2-test",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # run from notebooks/
    )
    client.execute()  # raises CellExecutionError on any failing cell

    texts, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                texts.append(out.get("data", {}).get("text/plain", ""))
                images += "image/png" in out.get("data", {})
    text = "\n".join(texts)
    assert "default_model" in text and "translations:" in text
    assert all(f"  {p.name}\n" in text for p in (ROOT / "examples" / "audio").glob("*.wav"))
    assert "params identical: True" in text
    assert "translations unchanged: True" in text
    assert images >= 2  # the waveform and the cross-attention map
