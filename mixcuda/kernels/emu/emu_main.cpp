// A CPU emulator for the kernels of mix.cu, used by mixcuda's tests on machines without a GPU:
// it compiles the kernels' own source for the host, and runs the launches the Rust host code
// prepared (the same parameter bytes, grids and buffers it hands to CUDA) one simulated thread
// at a time. The kernels use no shared memory and no barriers, and every output element has one
// writer, so sequential execution is one of the schedules a GPU may pick. Built with
// AddressSanitizer when the compiler has it, so a kernel that reads or writes outside its
// buffers fails the test.
//
// Usage: emu REQUEST RESPONSE     run the launches in REQUEST, write the buffers to RESPONSE
//        emu --layout             print the offset of every FmParams/FmJob/FmProbe field
//        emu --half-hashes        for every f32 bit pattern, in 256 blocks of 2^24: a hash of
//                                 fm_f16_bits and of fm_bf16_bits over the block, as lines
//                                 `f16|bf16 BLOCK HASH` (the test compares mixcore's)
//
// REQUEST (little-endian): "FMEMU001", u32 buffer count, per buffer u64 length + bytes;
// u32 launch count, per launch u32 name length + name, u32 grid[3], u32 block[3],
// u32 parameter length + parameter bytes. Pointer words of the parameters hold
// (buffer index + 1) << 40 | byte offset, or 0 for none. RESPONSE: every buffer's bytes,
// in order.
#define FRAMEMIX_EMULATE 1
#include "../mix.cu"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

fm_dim3 blockIdx, threadIdx, blockDim, gridDim;

namespace {

[[noreturn]] void fail(const std::string &why) {
  std::fprintf(stderr, "emu: %s\n", why.c_str());
  std::exit(2);
}

struct Reader {
  std::FILE *f;
  void bytes(void *dst, size_t n) {
    if (n != 0 && std::fread(dst, 1, n, f) != n) fail("truncated request");
  }
  uint32_t u32() {
    unsigned char b[4];
    bytes(b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  }
  uint64_t u64() {
    uint64_t lo = u32();
    uint64_t hi = u32();
    return lo | hi << 32;
  }
};

// Buffers are separate heap blocks of their exact length, so AddressSanitizer sees overruns.
std::vector<unsigned char *> buffers;
std::vector<uint64_t> lengths;

uint64_t relocate(uint64_t word) {
  if (word == 0) return 0;
  const uint64_t id = (word >> 40) - 1;
  const uint64_t off = word & ((1ull << 40) - 1);
  if (id >= buffers.size()) fail("pointer to an unknown buffer");
  if (off > lengths[id]) fail("pointer past the end of its buffer");
  return (uint64_t)(uintptr_t)(buffers[id] + off);
}

template <typename P>
void run_grid(void (*kernel)(const P), P p, const uint32_t grid[3], const uint32_t block[3]) {
  gridDim = {grid[0], grid[1], grid[2]};
  blockDim = {block[0], block[1], block[2]};
  for (uint32_t bz = 0; bz < grid[2]; ++bz)
    for (uint32_t by = 0; by < grid[1]; ++by)
      for (uint32_t bx = 0; bx < grid[0]; ++bx)
        for (uint32_t tz = 0; tz < block[2]; ++tz)
          for (uint32_t ty = 0; ty < block[1]; ++ty)
            for (uint32_t tx = 0; tx < block[0]; ++tx) {
              blockIdx = {bx, by, bz};
              threadIdx = {tx, ty, tz};
              kernel(p);
            }
}

template <typename P>
P decode(const std::vector<unsigned char> &bytes, size_t pointers) {
  if (bytes.size() != sizeof(P)) fail("parameter size differs from the header's struct");
  std::vector<unsigned char> b = bytes;
  for (size_t i = 0; i < pointers; ++i) {
    uint64_t w;
    std::memcpy(&w, b.data() + 8 * i, 8);
    w = relocate(w);
    std::memcpy(b.data() + 8 * i, &w, 8);
  }
  P p;
  std::memcpy(&p, b.data(), sizeof p);
  return p;
}

struct MixKernel {
  const char *name;
  void (*fn)(const FmParams);
};
const MixKernel mix_kernels[] = {
    {"fm_mix_u32", fm_mix_u32},
    {"fm_mix_u64", fm_mix_u64},
    {"fm_mix_f32", fm_mix_f32},
    {"fm_accumulate_u32", fm_accumulate_u32},
    {"fm_accumulate_u64", fm_accumulate_u64},
    {"fm_accumulate_f32", fm_accumulate_f32},
    {"fm_finish_u32", fm_finish_u32},
    {"fm_finish_u64", fm_finish_u64},
    {"fm_finish_f32", fm_finish_f32},
};

void print_layout() {
#define FIELD(S, F) std::printf("%s.%s %zu\n", #S, #F, offsetof(S, F))
  FIELD(FmJob, denominator);
  FIELD(FmJob, term_first);
  FIELD(FmJob, term_count);
  FIELD(FmJob, segment);
  FIELD(FmJob, segments);
  FIELD(FmJob, first_segment);
  FIELD(FmJob, acc_block);
  FIELD(FmParams, frames);
  FIELD(FmParams, out);
  FIELD(FmParams, jobs);
  FIELD(FmParams, term_frame);
  FIELD(FmParams, term_numer);
  FIELD(FmParams, term_weight);
  FIELD(FmParams, acc);
  FIELD(FmParams, frame_pitch);
  FIELD(FmParams, row_stride);
  FIELD(FmParams, width);
  FIELD(FmParams, height);
  FIELD(FmParams, channels);
  FIELD(FmParams, layout);
  FIELD(FmParams, epilogue);
  FIELD(FmParams, job_offset);
  FIELD(FmParams, mean);
  FIELD(FmParams, std);
  FIELD(FmParams, store);
  FIELD(FmParams, reserved);
  FIELD(FmProbe, n);
  FIELD(FmProbe, d);
  FIELD(FmProbe, out);
  FIELD(FmProbe, count);
#undef FIELD
  std::printf("sizeof.FmJob %zu\nsizeof.FmParams %zu\nsizeof.FmProbe %zu\n", sizeof(FmJob), sizeof(FmParams),
              sizeof(FmProbe));
}

// The hash of a block: sum over its patterns i of result(i) * (odd multiplier of i), mod 2^64.
// Any one differing result changes it (the multiplier is odd and |difference| < 2^16); the terms
// are independent, so the loop is not one long dependency chain.
uint64_t weight(uint64_t i) { return (i * 0x9e3779b97f4a7c15ull) | 1; }

void print_half_hashes() {
  for (uint64_t block = 0; block < 256; ++block) {
    uint64_t h16 = 0, hb = 0;
    for (uint64_t i = block << 24; i < (block + 1) << 24; ++i) {
      const unsigned int bits = (unsigned int)i;
      float x;
      std::memcpy(&x, &bits, sizeof x);
      h16 += fm_f16_bits(x) * weight(i);
      hb += fm_bf16_bits(x) * weight(i);
    }
    std::printf("f16 %llu %016llx\nbf16 %llu %016llx\n", (unsigned long long)block, (unsigned long long)h16,
                (unsigned long long)block, (unsigned long long)hb);
  }
}

}  // namespace

int main(int argc, char **argv) {
  if (argc == 2 && std::string(argv[1]) == "--layout") {
    print_layout();
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--half-hashes") {
    print_half_hashes();
    return 0;
  }
  if (argc != 3) fail("usage: emu REQUEST RESPONSE | emu --layout");
  std::FILE *in = std::fopen(argv[1], "rb");
  if (!in) fail("cannot open the request");
  Reader r{in};
  char magic[8];
  r.bytes(magic, 8);
  if (std::memcmp(magic, "FMEMU001", 8) != 0) fail("bad magic");
  const uint32_t nbuf = r.u32();
  for (uint32_t i = 0; i < nbuf; ++i) {
    const uint64_t len = r.u64();
    unsigned char *b = (unsigned char *)std::malloc(len == 0 ? 1 : len);
    if (!b) fail("out of memory");
    r.bytes(b, len);
    buffers.push_back(b);
    lengths.push_back(len);
  }
  const uint32_t nlaunch = r.u32();
  for (uint32_t l = 0; l < nlaunch; ++l) {
    std::string name(r.u32(), '\0');
    r.bytes(&name[0], name.size());
    uint32_t grid[3], block[3];
    for (auto &g : grid) g = r.u32();
    for (auto &b : block) b = r.u32();
    std::vector<unsigned char> params(r.u32());
    r.bytes(params.data(), params.size());
    bool found = false;
    for (const auto &k : mix_kernels) {
      if (name == k.name) {
        run_grid(k.fn, decode<FmParams>(params, FM_PARAM_POINTERS), grid, block);
        found = true;
      }
    }
    if (name == "fm_round_probe") {
      run_grid(fm_round_probe, decode<FmProbe>(params, FM_PROBE_POINTERS), grid, block);
      found = true;
    } else if (name == "fm_round_probe_exact") {
      run_grid(fm_round_probe_exact, decode<FmProbe>(params, FM_PROBE_POINTERS), grid, block);
      found = true;
    } else if (name == "fm_f16_probe") {
      run_grid(fm_f16_probe, decode<FmProbe>(params, FM_PROBE_POINTERS), grid, block);
      found = true;
    } else if (name == "fm_bf16_probe") {
      run_grid(fm_bf16_probe, decode<FmProbe>(params, FM_PROBE_POINTERS), grid, block);
      found = true;
    }
    if (!found) fail("unknown kernel " + name);
  }
  std::fclose(in);
  std::FILE *out = std::fopen(argv[2], "wb");
  if (!out) fail("cannot create the response");
  for (uint32_t i = 0; i < nbuf; ++i) {
    if (lengths[i] != 0 && std::fwrite(buffers[i], 1, lengths[i], out) != lengths[i]) fail("write failed");
    std::free(buffers[i]);
  }
  if (std::fclose(out) != 0) fail("write failed");
  return 0;
}
