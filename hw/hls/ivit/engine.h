// The engine: one R x C GEMM array fed from tile-major weight panels (wide m_axi bursts,
// ping-pong panel buffers), fused epilogues, an attention unit that keeps one R-row strip of
// scores/probabilities on chip, vector units of LANES elements per cycle, and one shared
// row unit (pipelined divider + integer square root) for the per-row divisions.
//
// Cycle accounting (-DIVIT_CYCLES): every unit adds the cycles its loops take as written
// (trip count x II + pipeline depth; units that overlap add the larger of the two) to the
// layer it runs, with the DDR bytes it moves. ivit_hls/ops/common.py computes the same
// numbers from the same formulas; a test checks that they are equal.
#ifndef IVIT_ENGINE_H
#define IVIT_ENGINE_H

#include "layernorm.h"
#include "pe_array.h"
#include "shiftgelu.h"
#include "shiftmax.h"
#include "types.h"

#ifdef IVIT_TRACE
extern int64_t* ivit_trace_sink;
#endif

/// Images per call the on-chip buffers hold (generate --batch): token-wise units see a batch
/// as its images' rows stacked, so each weight panel crosses DDR once per batch.
#ifndef IVIT_MAX_BATCH
#define IVIT_MAX_BATCH 1
#endif

namespace ivit {
namespace eng {

// -- timing constants (mirrored in ivit_hls/ops/common.py) ------------------------------------
constexpr int GEMM_DEPTH = 6;        // operand fetch, DSP multiply (3), accumulate, skew
constexpr int EPI_DEPTH = 8;         // 32x32 requant multiply (4), round, shift, saturate, store
constexpr int DDR_LATENCY = 64;      // first beat of a weight burst
constexpr int ROW_LATENCY = 100;     // shared row unit: pipelined isqrt + 64-bit divider
constexpr int VEC_DEPTH = 8;         // vector unit pipeline
constexpr int ROW_DIV_DEPTH = 68;    // the row unit's pipelined 64-bit divider (row_div)
constexpr int WORD_BYTES = 64;       // one 512-bit m_axi beat

inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// -- accounting and trace sinks ----------------------------------------------------------------
#ifdef IVIT_CYCLES
/// When non-null: 3 int64 per layer (cycles, DDR weight bytes, DDR activation bytes).
inline int64_t*& cycle_sink() {
    static int64_t* sink = 0;
    return sink;
}
inline void account(int op, int64_t cycles, int64_t wbytes = 0, int64_t abytes = 0) {
    int64_t* s = cycle_sink();
    if (!s) return;
    s[3 * op] += cycles;
    s[3 * op + 1] += wbytes;
    s[3 * op + 2] += abytes;
}
#else
inline void account(int, int64_t, int64_t = 0, int64_t = 0) {}
#endif

#ifdef IVIT_TRACE
inline void trace_put(long off, long idx, int64_t v) {
    if (ivit_trace_sink && off >= 0) ivit_trace_sink[off + idx] = v;
}
#else
inline void trace_put(long, long, int64_t) {}
#endif

// -- the PE array --------------------------------------------------------------------------------
/// acc[r][c] += sum_k A(i0+r, k) B(k, j0+c) over `rows` x `cols` valid lanes. `slices` = 2
/// feeds a 9..16-bit unsigned A operand as two bytes (low, then high shifted by 8), so every
/// PE stays an 8-bit multiplier (two per DSP48E2).
template <int R, int C, class A, class B>
void mac_tile(acc_t acc[R][C], A& a, B& b, int i0, int j0, int rows, int cols, int K,
              int slices) {
mac_k:
    for (int kk = 0; kk < K * slices; ++kk) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=16 max=2048
        const int k = slices == 2 ? kk >> 1 : kk;
        const bool high = slices == 2 && (kk & 1);
        int32_t av[R];
        int32_t bv[C];
#pragma HLS ARRAY_PARTITION variable=av complete
#pragma HLS ARRAY_PARTITION variable=bv complete
        for (int r = 0; r < R; ++r) {
            const int32_t v = r < rows ? static_cast<int32_t>(a(i0 + r, k)) : 0;
            av[r] = slices == 2 ? (high ? (v >> 8) : (v & 255)) : v;
        }
        for (int c = 0; c < C; ++c) bv[c] = c < cols ? static_cast<int32_t>(b(k, j0 + c)) : 0;
        pe_step<R, C>(acc, av, bv, high ? 8 : 0);
    }
}

/// Weight panel operand: panel[k][c] of the ping-pong buffer being computed on.
template <int C, int KMAX>
struct PanelB {
    const int8_t (*w)[C];
    int j0;
    int32_t operator()(int k, int j) const { return w[k][j - j0]; }
};

/// Read one K x C panel (tile-major, K*C bytes padded to a 64-byte word) into `panel`,
/// one 512-bit word per cycle.
template <int C, int KMAX>
void load_panel(const int8_t* src, int K, int8_t panel[KMAX][C]) {
    const int bytes = K * C;
load_words:
    for (int w = 0; w < cdiv(bytes, WORD_BYTES); ++w) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=4096
        for (int b = 0; b < WORD_BYTES; ++b) {
            const int idx = w * WORD_BYTES + b;
            if (idx < bytes) panel[idx / C][idx % C] = src[idx];
        }
    }
}

/// Cycles of draining one R x C tile through E epilogue lanes (one row chunk per cycle).
inline int64_t drain_cycles(int R, int C, int E) { return static_cast<int64_t>(R) * cdiv(C, E); }

/// Drain a tile through the epilogue, E results per cycle (row by row, E-wide chunks).
template <int R, int C, int E, class Epi>
void drain(acc_t acc[R][C], Epi& epi, int i0, int j0, int rows, int cols) {
drain_rows:
    for (int r = 0; r < rows; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=256
    drain_chunks:
        for (int c0 = 0; c0 < cols; c0 += E) {
#pragma HLS PIPELINE II=1
            for (int c = c0; c < c0 + E && c < cols; ++c)
                epi.store(i0 + r, j0 + c, static_cast<int32_t>(acc[r][c]));
        }
    }
}

/// Cycles of a weight-panel load at `bpc` bytes per cycle (the DDR share of the port).
inline int64_t panel_load_cycles(int K, int C, int bpc) {
    return cdiv(static_cast<int64_t>(K) * C, bpc) + DDR_LATENCY;
}

/// Bytes of one tile-major panel in the weight blob.
inline int64_t panel_stride(int K, int C) { return cdiv(static_cast<int64_t>(K) * C, WORD_BYTES) * WORD_BYTES; }

/// The GEMM engine with weights from DDR: y = epi(A (M x K) * W (K x N)), M = the rows of
/// every image of the batch. Column panels outermost, so every weight byte crosses DDR once
/// per batch; the next panel loads while
/// the current one is computed (ping-pong); row tiles stream through the array with their
/// drain (one row of C results per cycle) overlapped with the next tile (ping-pong acc).
template <int R, int C, int E, int KMAX, int BPC, class A, class Epi>
void gemm_ddr(const int8_t* wmem, long w_off, int M, int N, int K, int slices, A& a,
              Epi& epi, int op, acc_t accs[2][R][C], int8_t panel[2][KMAX][C]) {
    const int tiles = static_cast<int>(cdiv(M, R));
    const int panels = static_cast<int>(cdiv(N, C));
    const int64_t stride = panel_stride(K, C);
    const int64_t load = panel_load_cycles(K, C, BPC);
    int64_t cycles = 0;
gemm_panels:
    for (int p = 0; p < panels; ++p) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=256
        load_panel<C, KMAX>(wmem + w_off + p * stride, K, panel[p & 1]);
        const int j0 = p * C;
        const int cols = N - j0 < C ? N - j0 : C;
        PanelB<C, KMAX> b{panel[p & 1], j0};
        int64_t comp = 0;
    gemm_tiles:
        for (int t = 0; t < tiles; ++t) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
            const int i0 = t * R;
            const int rows = M - i0 < R ? M - i0 : R;
            acc_t (&acc)[R][C] = accs[0];
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c) acc[r][c] = c < cols ? epi.init(j0 + c) : 0;
            mac_tile<R, C>(acc, a, b, i0, j0, rows, cols, K, slices);
            drain<R, C, E>(acc, epi, i0, j0, rows, cols);
            // ping-pong accumulators: this tile's drain runs under the next tile (also
            // across panels); only the last drain of the GEMM is exposed
            comp += imax(static_cast<int64_t>(K) * slices, drain_cycles(R, C, E));
        }
        cycles += (p == 0 ? load : 0) + (p + 1 < panels ? imax(comp, load) : comp);
    }
    account(op, cycles + drain_cycles(R, C, E) + GEMM_DEPTH + EPI_DEPTH, panels * stride, 0);
}

/// Cycles of one on-chip GEMM strip: `tiles` output tiles of K steps, drains (`d` cycles
/// each) overlapped with the next tile.
inline int64_t strip_cycles(int tiles, int K, int slices, int64_t d) {
    return tiles * imax(static_cast<int64_t>(K) * slices, d) + d + GEMM_DEPTH + EPI_DEPTH;
}

// -- epilogues -----------------------------------------------------------------------------------
/// Per-channel dyadic requant + bias (a linear layer).
template <typename TO>
struct EpiRequant {
    TO* out; int ldo; const int32_t* bias; const int32_t* m; const uint8_t* e; int bits;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) {
        out[i * ldo + j] = static_cast<TO>(
            requant_product(lane_epi_requant(acc, m[j]), e[j], bits));
    }
};

/// Raw int32 accumulator + bias.
struct EpiRaw {
    int32_t* out; int ldo; const int32_t* bias;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) { out[i * ldo + j] = acc; }
};

/// Fused residual add: out = sat(rq(acc, m_a[j], e_a[j]) + rq(res, m_b, e_b)); `out` may be
/// the residual buffer itself (element (i, j) is read before it is written). The raw branch
/// goes to the trace only.
template <typename TR, typename TO>
struct EpiResidual {
    const TR* res; TO* out; int ldo; const int32_t* bias; const int32_t* m_a;
    const uint8_t* e_a; int64_t m_b; int e_b; int bits; long trace_branch;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) {
        trace_put(trace_branch, static_cast<long>(i) * ldo + j, acc);
        const int64_t s = round_shift(lane_epi_requant(acc, m_a[j]), e_a[j]) +
                          round_shift(lane_epi_residual(res[i * ldo + j], m_b), e_b);
        out[i * ldo + j] = static_cast<TO>(saturate(s, bits));
    }
};

/// GELU of one requantized value in an element-wise form (shift, symmetric or table).
template <typename TT>
struct GeluUnit {
    int form; int k; int64_t i0; int n; int64_t recip; int64_t m; int e; int bits;
    const TT* table; int64_t half;
    int64_t operator()(int64_t x) const {
        if (form == GELU_TABLE) return table[x + half];
        const int64_t core = form == GELU_SHIFT ? shift_gelu_shift(x, k, recip)
                                                : shift_gelu_symmetric(x, k, i0, n);
        return requant_product(lane_gelu_requant(core, m), e, bits);
    }
};

/// Fused fc1 + GELU: the requantized fc1 value goes to the trace, its GELU to `out`.
template <typename TO, typename TT>
struct EpiGelu {
    TO* out; int ldo; const int32_t* bias; const int32_t* m; const uint8_t* e; int bits;
    GeluUnit<TT> g; long trace_fc1;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) {
        const int64_t v = requant_product(lane_epi_requant(acc, m[j]), e[j], bits);
        trace_put(trace_fc1, static_cast<long>(i) * ldo + j, v);
        out[i * ldo + j] = static_cast<TO>(g(v));
    }
};

/// Patch embedding: row i = patch p of image b (i = b * np + p) becomes token p + 1 of that
/// image (`tokens` rows per image) = sat(rq(acc, m[j], e[j]) + pos[p][j]).
template <typename TO, typename TP>
struct EpiPatch {
    TO* out; int dim; const int32_t* bias; const int32_t* m; const uint8_t* e;
    const TP* pos; int bits; int np; int tokens;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) {
        const int b = i / np, p = i - b * np;
        const int64_t v =
            round_shift(lane_epi_requant(acc, m[j]), e[j]) + pos[p * dim + j];
        out[(b * tokens + p + 1) * dim + j] = static_cast<TO>(saturate(v, bits));
    }
};

/// Scalar requant into a strided destination (attention matmuls).
template <typename TO>
struct EpiScalar {
    TO* out; int ldo; int64_t m; int e; int bits;
    int32_t init(int) const { return 0; }
    void store(int i, int j, int32_t acc) {
        out[i * ldo + j] =
            static_cast<TO>(requant_product(lane_epi_requant(acc, m), e, bits));
    }
};

// -- operand sources -----------------------------------------------------------------------------
/// A row-major on-chip operand with row stride `ld` and column offset `off`.
template <typename T>
struct Rows {
    const T* p; int ld; int off;
    int32_t operator()(int i, int k) const { return static_cast<int32_t>(p[i * ld + off + k]); }
};

/// The transposed view: element (k, j) is p[j][off + k] (K of q.k^T read token-major).
template <typename T>
struct Cols {
    const T* p; int ld; int off;
    int32_t operator()(int k, int j) const { return static_cast<int32_t>(p[j * ld + off + k]); }
};

// -- the row unit and the vector units -------------------------------------------------------------
/// floor(n / d) for a per-layer constant d as a multiplication: ((n + d*B) * mul >> sh) - B.
/// The generator (ivit_hls/hls/recip.py) picks B, mul, sh and proves the quotient exact and
/// the product below 2^63 for every |n| within the layer's bound.
inline int64_t div_const(int64_t n, int64_t mul, int sh, int64_t dB, int64_t B) {
#pragma HLS INLINE
    return ((n + dB) * mul >> sh) - B;
}

/// Cycles of the vector unit over `rows` rows of `len` elements, `passes` passes each.
inline int64_t vector_cycles(int rows, int len, int passes, int lanes) {
    return static_cast<int64_t>(rows) * passes * cdiv(len, lanes) + VEC_DEPTH;
}

}  // namespace eng
}  // namespace ivit

#endif  // IVIT_ENGINE_H
