"""The mesh downloads in the real page: Mesh (GLB) saves a GLB that opens in trimesh with
colours and classes and turns in the preview; Mesh (PLY) saves a PLY with the `class`
property. No console error or warning (the `page` fixture checks)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 60_000


def _lit_pixels(page) -> int:
    return page.evaluate(
        """() => {
          const canvas = document.getElementById("mesh-preview");
          const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          let lit = 0;
          for (let p = 0; p < data.length; p += 4) {
            if (data[p] + data[p + 1] + data[p + 2] > 30) lit += 1;
          }
          return lit;
        }"""
    )


def test_mesh_downloads_open_in_trimesh_and_the_glb_turns_in_the_preview(page, screenshot):
    with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Mesh (GLB)").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-128.glb")
    scene = trimesh.load(download.path(), file_type="glb")
    (mesh,) = scene.geometry.values()
    classes = mesh.vertex_attributes["_CLASS"].reshape(-1)
    assert len(classes) == len(mesh.vertices) > 5000
    assert 1 in classes and 0 not in classes  # skin, no background
    assert mesh.visual.vertex_colors[:, :3].std() > 5

    preview = page.locator("#mesh-preview")
    preview.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert int(preview.get_attribute("data-vertices")) == len(mesh.vertices)
    page.wait_for_function(
        "Number(document.getElementById('mesh-preview').dataset.frames) > 3", timeout=TIMEOUT_MS
    )
    assert _lit_pixels(page) > 2000, "the face fills a good part of the 192² preview"
    screenshot(page, "mesh-preview")
    assert "Downloaded face-" in page.locator("#mesh-status").inner_text()
    status = page.locator('#mesh-progress [data-role="progress-status"]')
    assert status.inner_text() == "Mesh finished."

    with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Mesh (PLY)").click()
    ply = trimesh.load(download_info.value.path(), file_type="ply")
    vertex = ply.metadata["_ply_raw"]["vertex"]["data"]
    assert np.array_equal(vertex["class"].reshape(-1), classes.astype(np.uint16))
    assert np.allclose(ply.vertices, mesh.vertices)
