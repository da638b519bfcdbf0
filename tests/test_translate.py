"""Files -> translations: the CLI, bad inputs, long audio split at pauses, compile counts,
multi-device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
import torch
from reference import build_reference, save_reference

from s2t2_jax import decoding
from s2t2_jax.audio import load_audio
from s2t2_jax.checkpoint import convert
from s2t2_jax.cli import main
from s2t2_jax.translator import SpeechTranslator

AUDIO = Path(__file__).resolve().parents[1].parent / "shared" / "audio"
GOOD = ["short.wav", "weather.wav", "stereo_44k.flac", "phone_8k.wav"]
ENCODER = dict(  # the real conv stack (stride 320), tiny widths
    conv_dim=(8,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
    feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True,
)
GEN = ["--max-new-tokens", "6", "--no-progress"]


@pytest.fixture(scope="module")
def ref_model():
    return build_reference("group_postln_proj", seed=31, extra_encoder=ENCODER)


@pytest.fixture(scope="module")
def model_dir(ref_model, tmp_path_factory):
    from transformers import Wav2Vec2FeatureExtractor

    src = tmp_path_factory.mktemp("hf")
    save_reference(ref_model, src)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(src)
    words = [f"w{i}" + ("@@" if i % 3 == 0 else "") for i in range(4, 61)]
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{w: i for i, w in enumerate(words, 4)}}
    (src / "vocab.json").write_text(json.dumps(vocab))
    (src / "tokenizer_config.json").write_text("{}")
    return convert(src, tmp_path_factory.mktemp("conv") / "model", progress=False)


def _run_cli(args, capsys):
    code = main(args)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    return code, lines


def test_files_match_reference_processor_and_generate(model_dir, ref_model, capsys):
    from transformers import Speech2Text2Processor

    paths = [str(AUDIO / f) for f in GOOD]
    code, recs = _run_cli(["translate", "--model", str(model_dir), *paths, *GEN], capsys)
    assert code == 0
    assert [r["path"] for r in recs] == paths
    proc = Speech2Text2Processor.from_pretrained(model_dir)
    audio = [load_audio(p) for p in paths]
    feats = proc(audio=audio, sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = ref_model.generate(feats.input_values, attention_mask=feats.attention_mask,
                                 max_new_tokens=6, output_scores=True, return_dict_in_generate=True)
    ids = out.sequences
    want = proc.batch_decode(ids, skip_special_tokens=True)
    assert [r["translation"] for r in recs] == want
    assert any(want)
    # "score": the mean log-softmax of the chosen tokens up to and including EOS (the reference's
    # normalised transition scores, averaged).
    logp = torch.stack([torch.log_softmax(s, -1) for s in out.scores], 1)  # [B, steps, V]
    chosen = logp.gather(-1, ids[:, 1:, None])[..., 0].numpy()
    eos = ref_model.config.decoder.eos_token_id
    ended = np.cumsum(ids[:, 1:].numpy() == eos, 1) - (ids[:, 1:].numpy() == eos)  # after EOS
    want_scores = [chosen[i][ended[i] == 0].mean() for i in range(len(paths))]
    np.testing.assert_allclose([r["score"] for r in recs], want_scores, atol=1e-4, rtol=0)
    texts_scores = SpeechTranslator.from_pretrained(model_dir).translate(paths, max_new_tokens=6,
                                                                        return_scores=True)
    assert [t for t, _ in texts_scores] == want
    np.testing.assert_allclose([sc for _, sc in texts_scores], want_scores, atol=1e-4, rtol=0)
    assert recs[1]["seconds"] == pytest.approx(4.1, abs=0.1)
    # A file that fits the largest bucket is translated whole: one segment, all of it.
    assert [r["segments"] for r in recs] == [[{"start": 0.0, "end": r["seconds"],
                                               "text": r["translation"], "score": r["score"]}]
                                             for r in recs]


def test_bfloat16_translation_is_the_apis(model_dir, capsys):
    """`translate --dtype bfloat16` gives what `SpeechTranslator.translate(..., dtype=bfloat16)` does."""
    paths = [str(AUDIO / "short.wav"), str(AUDIO / "phone_8k.wav")]
    code, recs = _run_cli(["translate", "--model", str(model_dir), *paths, "--dtype", "bfloat16", *GEN],
                          capsys)
    assert code == 0
    want = SpeechTranslator.from_pretrained(model_dir).translate(
        paths, max_new_tokens=6, return_scores=True, dtype="bfloat16")
    assert [r["translation"] for r in recs] == [t for t, _ in want]
    np.testing.assert_allclose([r["score"] for r in recs], [sc for _, sc in want], atol=1e-3, rtol=0)


def test_bad_entry_in_manifest_keeps_the_others(model_dir, tmp_path, capsys):
    (tmp_path / "bad.wav").write_text("not audio at all")
    (tmp_path / "empty.wav").write_bytes(b"")
    manifest = tmp_path / "list.tsv"
    rows = ["audio\ttext", f"{AUDIO / 'short.wav'}\thallo", "bad.wav\tx", "missing.wav\tx",
            "empty.wav\tx", f"{AUDIO / 'phone_8k.wav'}\tguten morgen"]
    manifest.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out.jsonl"
    code = main(["translate", "--model", str(model_dir), str(manifest), "--output", str(out), *GEN])
    assert code == 1
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["path"] for r in recs] == [r.split("\t")[0] for r in rows[1:]]
    assert "translation" in recs[0] and "translation" in recs[4]
    assert all("error" in r for r in recs[1:4])
    assert "missing.wav" in recs[2]["error"]
    alone = SpeechTranslator.from_pretrained(model_dir).translate(
        [str(AUDIO / "short.wav"), str(AUDIO / "phone_8k.wav")], max_new_tokens=6)
    assert [recs[0]["translation"], recs[4]["translation"]] == alone


def test_long_audio_is_split_at_pauses(model_dir, capsys):
    path = str(AUDIO / "paragraph.wav")
    args = ["translate", "--model", str(model_dir), path, "--bucket-seconds", "4", "8", *GEN]
    code, recs = _run_cli(args, capsys)
    assert code == 0 and recs[0]["seconds"] > 20
    segs = recs[0]["segments"]
    assert len(segs) >= 3 and all(0 < s["end"] - s["start"] <= 8 for s in segs)
    assert all(a["end"] <= b["start"] for a, b in zip(segs, segs[1:], strict=False))
    assert recs[0]["translation"] == " ".join(s["text"] for s in segs if s["text"])
    # Each segment is translated as its stretch of audio alone.
    tr = SpeechTranslator.from_pretrained(model_dir)
    audio = load_audio(path)
    spans = tr.batcher(bucket_seconds=(4.0, 8.0)).spans(audio)
    assert [(s["start"], s["end"]) for s in segs] == [(round(a / 16000, 3), round(b / 16000, 3))
                                                      for a, b in spans]
    alone = tr.translate([audio[a:b] for a, b in spans], max_new_tokens=6, return_scores=True)
    assert [(s["text"], s["score"]) for s in segs] == [(t, round(sc, 6)) for t, sc in alone]
    assert main(args + ["--chunk-seconds", "7.5"]) == 2
    assert "--chunk-seconds was removed" in capsys.readouterr().err


def test_arrays_and_compile_count(model_dir):
    tr = SpeechTranslator.from_pretrained(model_dir)
    rng = np.random.default_rng(0)
    audio = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (9000, 12000, 30000, 31000,
                                                                       50000, 20000, 7000)]
    before = decoding.compile_count()
    first = tr.translate(audio, batch_size=2, max_new_tokens=5)
    compiled = decoding.compile_count() - before
    assert compiled <= 3  # buckets used: 1 s, 2 s, 4 s; one batch shape
    assert tr.translate(audio[::-1], batch_size=2, max_new_tokens=5) == first[::-1]
    assert decoding.compile_count() - before == compiled
    with pytest.raises(ValueError, match="NaN"):
        tr.translate(np.full(8000, np.nan, np.float32))


def test_new_params_are_placed_and_used(model_dir):
    tr = SpeechTranslator.from_pretrained(model_dir)
    audio = np.random.default_rng(1).standard_normal(12000).astype(np.float32) * 0.1
    tr.translate(audio, max_new_tokens=5)
    # New params (e.g. after fine-tuning) are what the next translation runs on.
    old = tr.params
    tr.params = jax.tree.map(lambda p: p * 1.5, old)
    np.testing.assert_array_equal(np.asarray(tr.params["decoder"]["embed_tokens"]["embedding"]),
                                  np.asarray(old["decoder"]["embed_tokens"]["embedding"]) * 1.5)
    fresh = SpeechTranslator(tr.config, tr.params, tr.folder)
    second = tr.translate(audio, max_new_tokens=5)
    assert second == fresh.translate(audio, max_new_tokens=5)
    ids = tr.generate(audio[None], max_new_tokens=5)
    np.testing.assert_array_equal(ids, decoding.generate(fresh.params, tr.config, audio[None],
                                                         max_new_tokens=5))


def test_four_devices_give_identical_output(model_dir, tmp_path):
    paths = [str(AUDIO / f) for f in GOOD] + [str(AUDIO / "numbers.wav")]
    outs = []
    for n in (1, 4):
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n}",
               "JAX_PLATFORMS": "cpu"}
        code = ("import jax, sys; from s2t2_jax.cli import main; assert jax.device_count() == "
                f"{n}; sys.exit(main(sys.argv[1:]))")
        out = tmp_path / f"out{n}.jsonl"
        subprocess.run([sys.executable, "-c", code, "translate", "--model", str(model_dir), *paths,
                        "--batch-size", "3", "--output", str(out), *GEN], check=True, env=env)
        outs.append([json.loads(line) for line in out.read_text().splitlines()])
    assert len(outs[0]) == len(paths)
    # Texts, paths, times: identical. Scores are float32 sums whose last bits depend on the
    # per-device batch shape: equal to 1e-5.
    scores = [[r.pop("score")] + [s.pop("score") for s in r["segments"]] for o in outs for r in o]
    assert outs[0] == outs[1]
    np.testing.assert_allclose(scores[:len(paths)], scores[len(paths):], atol=1e-5)
