"""Figures (capacity.plotting, figures/fig_*.py): every figure renders in quick mode.

Every figure is rendered once in the slow tier (module fixture; about 35 s), and three quick ones in
the default run; the tests check the files (PNG and PDF exist, are not trivially small, the PNG is not
blank), the provenance sidecar, that a second run reuses the cached data without calling compute(),
that recompute=True does call it, and the errors for unknown slugs.
"""
import json

import numpy as np
import pytest

from capacity import __version__, plotting

EXPECTED = {"alpha_c_vs_K", "collapse", "coupled_excess", "hebbian_recall", "kappa_star", "listwise_crossover", "nets_n1", "nets_n2",
            "nets_n3", "nets_n4", "nets_n5", "nets_probes", "pc_scaling", "scores", "spectra", "two_layer"}
PROVENANCE_KEYS = {"slug", "quick", "parameters", "seed", "inputs", "data_file", "package_version", "git_commit",
                   "date", "compute_seconds"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("figures")
    calls = []
    written = plotting.run_figures(None, quick=True, outdir=outdir, progress=lambda done, total: calls.append(done))
    return outdir, written, calls


FEW = ("alpha_c_vs_K", "collapse", "spectra")  # about a second each in quick mode


@pytest.fixture(scope="module")
def rendered_few(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("figures_few")
    calls = []
    written = plotting.run_figures(list(FEW), quick=True, outdir=outdir,
                                   progress=lambda done, total: calls.append(done))
    return outdir, written, calls


def test_list_figures_describes_every_script():
    figs = plotting.list_figures()
    assert EXPECTED <= set(figs)
    for slug, info in figs.items():
        assert info.path == plotting.FIGURES_DIR / f"fig_{slug}.py"
        assert info.description and "\n" not in info.description


def _check_rendered(outdir, written, calls, slugs):
    assert calls == list(range(1, len(slugs) + 1))
    from matplotlib.image import imread

    for slug in slugs:
        png, pdf = outdir / f"{slug}.png", outdir / f"{slug}.pdf"
        assert png in written and pdf in written
        assert png.stat().st_size > 20_000, slug
        assert pdf.stat().st_size > 10_000, slug
        assert pdf.read_bytes().startswith(b"%PDF")
        img = imread(png)
        assert img.ndim == 3 and min(img.shape[:2]) > 300, slug
        assert float(np.std(img[..., :3])) > 0.02, f"{slug}: PNG looks blank"
        assert outdir / f"{slug}.provenance.json" in written


@pytest.mark.slow
def test_every_figure_renders(rendered):
    _check_rendered(*rendered, list(plotting.list_figures()))


def test_a_few_figures_render(rendered_few):
    _check_rendered(*rendered_few, list(FEW))


def test_provenance_sidecar(rendered_few):
    outdir, written, _ = rendered_few
    for slug in FEW:
        prov_path = outdir / f"{slug}.provenance.json"
        assert prov_path in written
        prov = json.loads(prov_path.read_text())
        assert PROVENANCE_KEYS <= set(prov), slug
        assert prov["slug"] == slug and prov["quick"] is True
        assert prov["package_version"] == __version__
        assert prov["git_commit"] is None or len(prov["git_commit"]) == 40
        data_path = outdir / prov["data_file"]
        assert data_path in written and data_path.stat().st_size > 0
        module = plotting.load_figure(slug)
        for rel, sha in prov["inputs"].items():
            assert rel in module.INPUTS and len(sha) == 64


def test_cached_data_are_reused(rendered_few, monkeypatch):
    outdir, _, _ = rendered_few
    for slug in ("collapse", "spectra"):
        module = plotting.load_figure(slug)

        def boom(quick, slug=slug):
            raise AssertionError(f"{slug}: compute() called although a cache exists")

        monkeypatch.setattr(module, "compute", boom)
        png = outdir / f"{slug}.png"
        png.unlink()
        written = plotting.run_figures([slug], quick=True, outdir=outdir, progress=False)
        assert written == [png, outdir / f"{slug}.pdf"]  # no data or provenance rewritten
        assert png.stat().st_size > 20_000


def test_recompute_and_mode_change_call_compute(rendered_few, monkeypatch):
    outdir, _, _ = rendered_few
    slug = "alpha_c_vs_K"
    module = plotting.load_figure(slug)
    original, calls = module.compute, []

    def counted(quick):
        calls.append(quick)
        return original(quick)

    monkeypatch.setattr(module, "compute", counted)
    written = plotting.run_figures(slug, quick=True, outdir=outdir, recompute=True, progress=False)
    assert calls == [True]
    assert outdir / f"{slug}.provenance.json" in written
    # a cache made in quick mode is never reused for a full run (checked without running one)
    assert plotting._cache_ok(outdir / f"{slug}.provenance.json", False, *plotting._figure_meta(module, False)[:2]) \
        is None


def test_unknown_slug_lists_the_available_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown figure 'nope'.*pc_scaling"):
        plotting.run_figures(["nope"], quick=True, outdir=tmp_path)
    with pytest.raises(TypeError, match="quick"):
        plotting.run_figures(["collapse"], quick="yes", outdir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_data_round_trip(tmp_path):
    arrays = {"x": np.arange(3.0), "n": 4, "label": "d = 32", "flag": True}
    path = plotting._save_data("t", arrays, tmp_path)
    assert path.name == "t.data.npz"
    back = plotting._load_data(path)
    np.testing.assert_array_equal(back["x"], arrays["x"])
    assert back["n"] == 4 and back["label"] == "d = 32" and back["flag"] is True
    ragged = {"rows": [[1.0, 2.0], [3.0]], "nan": float("nan")}
    path = plotting._save_data("t", ragged, tmp_path)
    assert path.name == "t.data.json" and not (tmp_path / "t.data.npz").exists()
    back = plotting._load_data(path)
    assert back["rows"] == [[1.0, 2.0], [3.0]]
    assert np.isnan(back["nan"])
    with pytest.raises(TypeError, match="str keys"):
        plotting._save_data("t", {1: 2}, tmp_path)


def test_cli_figures(tmp_path, capsys):
    from capacity import cli

    assert cli.main(["figures", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "pc_scaling" in listed
    assert cli.main(["figures", "spectra", "--quick", "--outdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.split()
    assert str(tmp_path / "spectra.png") in out and (tmp_path / "spectra.pdf").stat().st_size > 1000
    assert cli.main(["figures", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown figure 'nope'" in err
    assert cli.main(["figures"]) == 2
    assert "--all" in capsys.readouterr().err
