/* The C peer kernel of the shared bench (limits.c: a hand-written AVX2+FMA float Frame Mix-up
 * kernel), unchanged, made callable from mixbench so that its calls can alternate with ours on
 * the same bytes in one process (`cargo run --release --bin mixbench --features peer`).
 * PEER_SRC is the path of limits.c (build.rs passes it). */
#define main limits_main
#include PEER_SRC
#undef main

/* mix_avx2 of limits.c on one thread: linear weights, S = 8, the case's F frames of H x W x 3
 * bytes at `frames`; `out` (32-byte aligned) receives S * H * W * 3 floats; `tile` bytes per
 * frame per tile (a multiple of 32), `fg` frames per register group (1 to 8), `nts` streaming
 * stores. */
void framemix_peer_mix(const uint8_t *frames, float *out, int F, int H, int W, size_t tile, int fg,
                       int nts) {
    static int bnd[65];
    static float w[65536];
    static int f0 = -1;
    static float *tb[2];
    if (F != f0) {
        make_problem(F, 8, 1, bnd, w);
        f0 = F;
    }
    if (!tb[0]) {
        tb[0] = xalloc(65536 * sizeof(float) + 64);
        tb[1] = xalloc(65536 * sizeof(float) + 64);
    }
    Problem P = {F, 8, (size_t)H * W * 3, bnd, w, 1};
    mix_avx2(&P, frames, out, tile, fg, 1, nts, tb);
}
