"""Installs the ``bnn`` package (distribution ``bnn-asr``).

Console scripts are discovered from ``bnn/bin/*.py``: module ``bnn/bin/ali_to_pdf.py`` becomes the
command ``bnn-ali-to-pdf`` calling its ``main()``.  The bit-packed inference kernel in
``bnn/infer/csrc/`` is an optional C extension: if it cannot be compiled the package still
installs and ``bnn.infer`` falls back to numpy with a warning.
"""
import glob
import os
import sys

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def console_scripts():
    scripts = []
    for path in sorted(glob.glob(os.path.join(HERE, "bnn", "bin", "*.py"))):
        name = os.path.basename(path)[:-3]
        if name.startswith("_"):
            continue
        scripts.append(f"bnn-{name.replace('_', '-')} = bnn.bin.{name}:main")
    return scripts


class OptionalBuildExt(build_ext):
    """Build C extensions, but never fail the install because of them."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure
            print(f"WARNING: optional C extension not built ({exc}); numpy fallback used",
                  file=sys.stderr)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"WARNING: optional C extension {ext.name} not built ({exc})", file=sys.stderr)


def extensions():
    sources = sorted(glob.glob(os.path.join("bnn", "infer", "csrc", "*.c")))
    if not sources:
        return []
    exts = [Extension("bnn.infer._bitgemm", sources=sources,
                      extra_compile_args=["-O3", "-std=c11", "-fno-strict-aliasing"])]
    # fused splice gather of the batched training input (bnn/data/batched.py); no -ffast-math:
    # its float32 arithmetic must stay bit-identical to numpy's
    if os.path.isfile(os.path.join(HERE, "bnn", "data", "csrc", "splice.c")):
        exts.append(Extension("bnn.data._splice", sources=["bnn/data/csrc/splice.c"],
                              extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off"]))
    # lattice decoder (bnn/decode/csrc/latgen.cpp); no -ffast-math: costs follow Kaldi's float order
    if os.path.isfile(os.path.join(HERE, "bnn", "decode", "csrc", "latgen.cpp")):
        exts.append(Extension("bnn.decode._latgen", sources=["bnn/decode/csrc/latgen.cpp"],
                              language="c++", extra_compile_args=["-O2", "-std=c++17"]))
    # whole-network packed D-FSMN forward (bnn/kws/csrc/dfsmn.c); float32 in numpy's order
    # (no contraction); -fno-trapping-math only lets gcc turn PReLU selects into vector blends
    if os.path.isfile(os.path.join(HERE, "bnn", "kws", "csrc", "dfsmn.c")):
        exts.append(Extension("bnn.kws._dfsmn", sources=["bnn/kws/csrc/dfsmn.c"],
                              extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off",
                                                  "-fno-trapping-math"]))
    return exts


setup(
    name="bnn-asr",
    version="0.1.0",
    description="Binary neural-network acoustic models for Kaldi-style speech recognition",
    packages=find_packages(include=["bnn", "bnn.*"]),
    python_requires=">=3.9",
    install_requires=[
        line.strip() for line in open(os.path.join(HERE, "requirements.txt"))
        if line.strip() and not line.startswith("#")
    ],
    extras_require={"test": ["pytest>=7"]},
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    entry_points={"console_scripts": console_scripts()},
)
