"""The issue's public import path for checkpoints, without loading the generator eagerly."""

import subprocess
import sys


def test_load_generator_is_importable_from_the_package():
    from ffedit.io import load_generator
    from ffedit.io.checkpoint import load_generator as direct

    assert load_generator is direct


def test_reading_images_does_not_load_the_generator():
    probe = "import sys, ffedit.io.images; print('ffedit.generator' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
