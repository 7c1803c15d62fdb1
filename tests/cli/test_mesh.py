"""`ffedit mesh`: a seed's face written as GLB or PLY; bad options answer with an error."""

from __future__ import annotations

import trimesh

from ffedit.cli import main


def test_ffedit_mesh_writes_a_labelled_ply(shipped_model, tmp_path, capsys):
    out = tmp_path / "face.ply"
    args = ["mesh", "--face", "2", "--layout", "base17", "--grid", "40", "--out", str(out)]
    assert main([*args, "--model", str(shipped_model), "--device", "cpu"]) == 0
    mesh = trimesh.load(out)
    classes = mesh.metadata["_ply_raw"]["vertex"]["data"]["class"]
    assert len(classes) == len(mesh.vertices) > 500 and classes.max() < 17
    assert "layout base17, grid 40³" in capsys.readouterr().out


def test_ffedit_mesh_refuses_bad_options(shipped_model, tmp_path, capsys):
    model = ["--model", str(shipped_model), "--device", "cpu"]
    assert main(["mesh", "--out", str(tmp_path / "face.obj"), *model]) == 1
    assert "must end in .glb or .ply" in capsys.readouterr().err
    assert main(["mesh", "--grid", "1000", "--out", str(tmp_path / "f.glb"), *model]) == 1
    assert "grid must be from 32 to 256" in capsys.readouterr().err
    assert (
        main(
            [
                "mesh",
                "--layout",
                "nose19",
                "--adapter",
                str(tmp_path),
                "--out",
                str(tmp_path / "f.glb"),
                *model,
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.startswith("error: ")
    assert not list(tmp_path.glob("f.*"))
