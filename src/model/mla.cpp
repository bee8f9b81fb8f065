// Legend: R rows of the batch, S_i = cached + new positions of sequence i, H heads,
// d hidden, dn / dr / dv = qk_nope / qk_rope / v head dims, r_q / r_kv = LoRA ranks.
#include "model/mla.h"

#include <algorithm>
#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/gemm_f32.h"
#include "kernels/matmul.h"

namespace frugal {

namespace {

template <typename T>
void grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
}

// Rows of a query block in the naive prefill: 64 rows x S keys of scores per
// thread (1 MB at S = 4096), never T x T.
constexpr int64_t kQueryBlock = 64;

// Head h's causal attention for m new rows of one sequence (the naive form), as
// three fp32 GEMMs: scores = scale (q_nope k_nope^T + q_pe k_pe^T) over the keys
// [0, keys), the block's last row seeing all of them; row t sees keys
// [0, keys - m + t] (its own position included), the rest masked before the
// softmax; out = P v.
//   q: [m, dn + dr] rows of stride ldq;  kv: [keys, dn + dv] (k_nope | v) of
//   stride ldkv;  k_pe: [keys, dr] of stride ldpe;  out: [m, dv] of stride ldo.
void attend_block(int64_t m, int64_t keys, int64_t dn, int64_t dr, int64_t dv, float scale, const float* q,
                  int64_t ldq, const float* kv, int64_t ldkv, const float* k_pe, int64_t ldpe, float* p, float* out,
                  int64_t ldo) {
  gemm_f32_nt(m, keys, dn, scale, q, ldq, kv, ldkv, 0.0f, p, keys);
  gemm_f32_nt(m, keys, dr, scale, q + dn, ldq, k_pe, ldpe, 1.0f, p, keys);
  for (int64_t t = 0; t < m; ++t) {
    const int64_t n = keys - m + t + 1;  // the causal window of row t
    softmax_inplace(p + t * keys, n);
    std::fill(p + t * keys + n, p + (t + 1) * keys, 0.0f);
  }
  gemm_f32_nn(m, dv, keys, 1.0f, p, keys, kv + dn, ldkv, 0.0f, out, ldo);
}

}  // namespace

AttnMode attn_mode_for(AttnMode mode, const ModelConfig& c, const Batch& batch) {
  if (mode != AttnMode::Auto) return mode;
  const double H = double(c.num_attention_heads), dn = double(c.qk_nope_head_dim), dr = double(c.qk_rope_head_dim),
               dv = double(c.v_head_dim), r = double(c.kv_lora_rank);
  double naive = 0, absorb = 0;
  for (const BatchSeq& b : batch) {
    const double p0 = double(b.cache->length), n = double(b.n), S = p0 + n;
    const double pairs = n * p0 + n * (n + 1) / 2;  // (query, key) pairs of the causal window
    // flops per head: scores + weighted sum, plus the matmuls only one path has
    naive += H * (pairs * 2 * (dn + dr + dv) + S * 2 * (dn + dv) * r);
    absorb += H * (pairs * 2 * (2 * r + dr) + n * 2 * (dn + dv) * r);
  }
  return naive < absorb ? AttnMode::Naive : AttnMode::Absorb;
}

void mla_fwd(const MlaArgs& a, const Batch& batch, const float* x, float* y, MlaScratch& s, ThreadPool& pool) {
  const ModelConfig& c = a.cfg;
  const MlaWeights& w = a.w;
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, dq = dn + dr, r_kv = c.kv_lora_rank, half = dr / 2, dlat = r_kv + dr;
  const int64_t R = batch_rows(batch);
  const float scale = float(c.softmax_scale());

  // Which sequence and position each row is.
  grow(s.row_seq, R);
  grow(s.row_pos, R);
  for (size_t i = 0; i < batch.size(); ++i) {
    FRUGAL_CHECK(batch[i].cache->length + batch[i].n <= batch[i].cache->capacity, "cache holds {} positions, {} needed",
                 batch[i].cache->capacity, batch[i].cache->length + batch[i].n);
    for (int64_t j = 0; j < batch[i].n; ++j) {
      s.row_seq[size_t(batch[i].row0 + j)] = int64_t(i);
      s.row_pos[size_t(batch[i].row0 + j)] = batch[i].cache->length + j;
    }
  }

  // q = q_b(RMSNorm(q_a(x))) or q_proj(x)                          [R, H*dq]
  grow(s.q, R * H * dq);
  if (c.q_lora_rank > 0) {
    grow(s.q_a, R * c.q_lora_rank);
    linear(s.q_a.data(), x, R, w.q_a_proj, pool);                                   // [R, r_q]
    rmsnorm(s.q_a.data(), c.q_lora_rank, s.q_a.data(), c.q_lora_rank, R, c.q_lora_rank, w.q_a_layernorm,
            float(c.rms_norm_eps));
    linear(s.q.data(), s.q_a.data(), R, w.q_b_proj, pool);                          // [R, H*dq]
  } else {
    linear(s.q.data(), x, R, w.q_proj, pool);                                       // [R, H*dq]
  }
  // [c_kv | k_pe] = kv_a(x); c_kv = RMSNorm(c_kv)                   [R, r_kv + dr]
  grow(s.kv_a, R * dlat);
  linear(s.kv_a.data(), x, R, w.kv_a_proj_with_mqa, pool);
  rmsnorm(s.kv_a.data(), dlat, s.kv_a.data(), dlat, R, r_kv, w.kv_a_layernorm, float(c.rms_norm_eps));
  // RoPE on q_pe of every head and on the shared k_pe at each row's position;
  // the latent row then goes to its sequence's cache.
  grow(s.cos, half);
  grow(s.sin, half);
  for (int64_t r = 0; r < R; ++r) {
    a.rope.angles(s.row_pos[size_t(r)], s.cos.data(), s.sin.data());
    for (int64_t h = 0; h < H; ++h) rope_interleaved(s.q.data() + r * H * dq + h * dq + dn, half, s.cos.data(), s.sin.data());
    rope_interleaved(s.kv_a.data() + r * dlat + r_kv, half, s.cos.data(), s.sin.data());
    LatentKvCache& cache = *batch[size_t(s.row_seq[size_t(r)])].cache;
    std::copy_n(s.kv_a.data() + r * dlat, dlat, cache.row(a.layer, s.row_pos[size_t(r)]));
  }

  grow(s.attn, R * H * dv);  // concatenated head outputs               [R, H*dv]
  const float* q = s.q.data();

  if (attn_mode_for(a.mode, c, batch) == AttnMode::Naive) {
    // [k_nope | v]_h of every cached position of every sequence      [sum S_i, H*(dn+dv)]
    // One GEMM per sequence over its latents [S_i, r_kv + dr]: a paged cache's
    // blocks are gathered into one run first (a copy of S_i rows, small next to
    // the GEMM, and one pass over kv_b instead of one per block).
    const int64_t dkv = dn + dv;
    grow(s.kv_offset, int64_t(batch.size()));
    grow(s.lat_rows, int64_t(batch.size()));
    int64_t total = 0;
    bool gather = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      s.kv_offset[i] = total;
      total += batch[i].cache->length + batch[i].n;
      gather = gather || !batch[i].cache->contiguous(batch[i].cache->length + batch[i].n);
    }
    grow(s.kv, total * H * dkv);
    if (gather) grow(s.lat, total * dlat);
    for (size_t i = 0; i < batch.size(); ++i) {
      const int64_t S = batch[i].cache->length + batch[i].n;
      s.lat_rows[i] = batch[i].cache->rows(a.layer, S, s.lat.data() + s.kv_offset[i] * dlat);
      matmul_xwt(s.kv.data() + s.kv_offset[i] * H * dkv, H * dkv, s.lat_rows[i], dlat, S, w.kv_b_proj,
                 RowRange{0, H * dkv}, pool);
    }
    // Query blocks of every sequence, each head: items ordered head-major, so the
    // pool's contiguous chunks get whole heads (equal work) rather than the cheap
    // early blocks of the causal triangle.
    int64_t nblk = 0;
    for (size_t i = 0; i < batch.size(); ++i) nblk += (batch[i].n + kQueryBlock - 1) / kQueryBlock;
    grow(s.blocks, 2 * nblk);
    nblk = 0;
    for (size_t i = 0; i < batch.size(); ++i)
      for (int64_t a0 = 0; a0 < batch[i].n; a0 += kQueryBlock, ++nblk) {
        s.blocks[size_t(2 * nblk)] = int64_t(i);
        s.blocks[size_t(2 * nblk + 1)] = a0;
      }
    pool.parallel_for(H * nblk, [&](int64_t begin, int64_t end, int) {
      thread_local std::vector<float> p;
      for (int64_t item = begin; item < end; ++item) {
        const int64_t h = item / nblk, k = item % nblk;
        const size_t i = size_t(s.blocks[size_t(2 * k)]);
        const int64_t a0 = s.blocks[size_t(2 * k + 1)], m = std::min(kQueryBlock, batch[i].n - a0);
        const int64_t keys = batch[i].cache->length + a0 + m;  // the block's last row sees them all
        grow(p, m * keys);  // grows with the context only
        const float* kv = s.kv.data() + s.kv_offset[i] * H * dkv + h * dkv;
        const int64_t r0 = batch[i].row0 + a0;
        attend_block(m, keys, dn, dr, dv, scale, q + r0 * H * dq + h * dq, H * dq, kv, H * dkv, s.lat_rows[i] + r_kv,
                     dlat, p.data(), s.attn.data() + r0 * H * dv + h * dv, H * dv);
      }
    });
  } else {
    // q_lat_h = q_nope_h W_uk_h  (W_uk_h: head h's k_nope rows of kv_b)  [R, H, r_kv]
    grow(s.q_lat, R * H * r_kv);
    grow(s.ctx, R * H * r_kv);
    for (int64_t h = 0; h < H; ++h)
      matmul_xw(s.q_lat.data() + h * r_kv, H * r_kv, q + h * dq, H * dq, R, w.kv_b_proj, RowRange{h * (dn + dv), dn},
                pool);
    pool.parallel_for(R * H, [&](int64_t begin, int64_t end, int) {
      thread_local std::vector<float> p;
      for (int64_t rh = begin; rh < end; ++rh) {
        const int64_t r = rh / H, h = rh % H, n = s.row_pos[size_t(r)] + 1;
        const LatentKvCache& cache = *batch[size_t(s.row_seq[size_t(r)])].cache;
        grow(p, cache.capacity);
        const float* ql = s.q_lat.data() + (r * H + h) * r_kv;
        const float* qpe = q + r * H * dq + h * dq + dn;
        float* ctx = s.ctx.data() + (r * H + h) * r_kv;
        // score_j = (q_lat . c_kv_j + q_pe . k_pe_j) * scale;  ctx = sum_j p_j c_kv_j,
        // block run by block run (contiguous rows; one run for a contiguous cache).
        cache.for_each_run(a.layer, 0, n, [&](const float* lat, int64_t j0, int64_t m) {
          for (int64_t j = 0; j < m; ++j)
            p[size_t(j0 + j)] = (dot(ql, lat + j * dlat, r_kv) + dot(qpe, lat + j * dlat + r_kv, dr)) * scale;
        });
        softmax_inplace(p.data(), n);
        std::fill_n(ctx, r_kv, 0.0f);
        cache.for_each_run(a.layer, 0, n, [&](const float* lat, int64_t j0, int64_t m) {
          axpy_rows(ctx, p.data() + j0, lat, dlat, m, r_kv);
        });
      }
    });
    // out_h = ctx_h W_uv_h^T  (W_uv_h: head h's v rows of kv_b)         [R, H*dv]
    for (int64_t h = 0; h < H; ++h)
      matmul_xwt(s.attn.data() + h * dv, H * dv, s.ctx.data() + h * r_kv, H * r_kv, R, w.kv_b_proj,
                 RowRange{h * (dn + dv) + dn, dv}, pool);
  }
  // y = o_proj(concat_h out_h)                                          [R, d]
  linear(y, s.attn.data(), R, w.o_proj, pool);
}

}  // namespace frugal
