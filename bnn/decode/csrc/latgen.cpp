// Lattice-generating Viterbi beam search over a Kaldi HCLG graph for per-frame acoustic scores,
// with word-level lattice determinization.  Python extension module bnn.decode._latgen.
//
// The search follows Kaldi's LatticeFasterDecoder (src/decoder/lattice-faster-decoder.{h,cc}) and
// Povey et al. 2012, "Generating exact lattices in the WFST framework" (ICASSP), Sec. 3-4:
//  * tokens per (frame, graph state) hold the best cost so far (tot_cost) and extra_cost, the
//    difference between the best path through the token and the best path overall;
//  * forward links (ilabel, olabel, graph cost, acoustic cost) connect tokens of successive frames
//    (emitting arcs) or of the same frame (epsilon arcs);
//  * pruning: beam with max-active / min-active (GetCutoff, adaptive beam with beam_delta), an
//    "online" cutoff from the best token's successors; every prune_interval frames links and
//    tokens more than lattice_beam worse than the best path through them are removed
//    (PruneActiveTokens, Eq. (4)-(5) of the paper: extra costs propagated backwards);
//  * at the end, final-state costs take part in the extra costs (PruneForwardLinksFinal); if no
//    final state is active, every token of the last frame is final with cost 0 (partial output);
//  * acoustic costs are stored relative to a per-frame offset (cost_offsets) and restored when
//    the raw lattice is built (GetRawLattice).
// The decodable is Kaldi's DecodableMatrixScaledMapped: log-likelihood of transition-id t at frame
// i is acoustic_scale * M[i, tid2pdf[t]] (float).
//
// Determinization (Kaldi's DeterminizeLatticePruned semantics, src/fstext/determinize-lattice*):
// the raw state-level lattice is pruned to lattice_beam (forward-backward), then determinized over
// words in the lattice semiring: weights (graph, acoustic) ordered by graph+acoustic (ties: graph
// cost), transition-ids carried as strings; a subset element is (state, residual weight, residual
// string); subsets are closed over word-epsilon arcs, reduced to the states with word arcs or
// final weight, normalised (minimum weight, common string prefix moved onto the arc) and hashed;
// the result keeps, for each word sequence, its best path and alignment.  The output is pruned to
// lattice_beam again and topologically sorted.  Optionally (phone_start given) a first pass on words +
// phones as Kaldi's DeterminizeLatticePhonePrunedWrapper (InsertPhones, CompactToRaw); same result.
// The transition-id strings live in a trie with open-addressing tables (FlatMap).  An attempt that
// exceeds max_det_states output states or 125 * max_det_states closure/arc operations is retried at
// half the beam (reported as det_complete = false).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

const float kInf = std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------------------------- graph

struct GraphData {
  int32_t start = -1;
  int32_t num_states = 0;
  std::vector<float> finals;
  std::vector<int64_t> offsets;  // num_states + 1
  std::vector<int32_t> ilabel, olabel, nextstate;
  std::vector<float> weight;
  std::vector<char> has_ieps;  // state has an arc with ilabel 0
  int32_t max_ilabel = 0;
};

struct GraphObject {
  PyObject_HEAD
  GraphData *g;
};

void Graph_dealloc(GraphObject *self) {
  delete self->g;
  Py_TYPE(self)->tp_free(reinterpret_cast<PyObject *>(self));
}

PyTypeObject GraphType = {PyVarObject_HEAD_INIT(nullptr, 0)};

bool get_buffer(PyObject *obj, Py_buffer *view, const char *what, Py_ssize_t itemsize) {
  if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return false;
  if (view->itemsize != itemsize) {
    PyErr_Format(PyExc_TypeError, "%s: expected items of %zd bytes, got %zd", what, itemsize,
                 view->itemsize);
    PyBuffer_Release(view);
    return false;
  }
  return true;
}

// Graph(start, finals[f32 n], offsets[i64 n+1], ilabel[i32 m], olabel[i32 m], weight[f32 m],
//       nextstate[i32 m])
PyObject *Graph_new(PyTypeObject *type, PyObject *args, PyObject *) {
  long start;
  PyObject *ofin, *ooff, *oil, *ool, *ow, *ons;
  if (!PyArg_ParseTuple(args, "lOOOOOO", &start, &ofin, &ooff, &oil, &ool, &ow, &ons)) return nullptr;
  Py_buffer b[6];
  PyObject *objs[6] = {ofin, ooff, oil, ool, ow, ons};
  const char *names[6] = {"finals", "offsets", "ilabel", "olabel", "weight", "nextstate"};
  Py_ssize_t sizes[6] = {4, 8, 4, 4, 4, 4};
  int got = 0;
  for (; got < 6; got++)
    if (!get_buffer(objs[got], &b[got], names[got], sizes[got])) break;
  if (got < 6) {
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return nullptr;
  }
  GraphData *g = new GraphData();
  Py_ssize_t n = b[0].len / 4, m = b[2].len / 4;
  bool bad = b[1].len / 8 != n + 1 || b[3].len / 4 != m || b[4].len / 4 != m || b[5].len / 4 != m;
  if (!bad) {
    g->start = static_cast<int32_t>(start);
    g->num_states = static_cast<int32_t>(n);
    const float *fin = static_cast<const float *>(b[0].buf);
    const int64_t *off = static_cast<const int64_t *>(b[1].buf);
    g->finals.assign(fin, fin + n);
    g->offsets.assign(off, off + n + 1);
    const int32_t *il = static_cast<const int32_t *>(b[2].buf);
    const int32_t *ol = static_cast<const int32_t *>(b[3].buf);
    const float *w = static_cast<const float *>(b[4].buf);
    const int32_t *ns = static_cast<const int32_t *>(b[5].buf);
    g->ilabel.assign(il, il + m);
    g->olabel.assign(ol, ol + m);
    g->weight.assign(w, w + m);
    g->nextstate.assign(ns, ns + m);
    g->has_ieps.assign(n, 0);
    if (g->offsets[0] != 0 || g->offsets[n] != m) bad = true;
    for (Py_ssize_t s = 0; s < n && !bad; s++) {
      if (g->offsets[s + 1] < g->offsets[s]) bad = true;
      for (int64_t a = g->offsets[s]; a < g->offsets[s + 1] && !bad; a++) {
        if (g->ilabel[a] == 0) g->has_ieps[s] = 1;
        if (g->ilabel[a] < 0 || g->nextstate[a] < 0 || g->nextstate[a] >= n) bad = true;
        g->max_ilabel = std::max(g->max_ilabel, g->ilabel[a]);
      }
    }
    if (n > 0 && (start < 0 || start >= n)) bad = true;
  }
  for (int i = 0; i < 6; i++) PyBuffer_Release(&b[i]);
  if (bad) {
    delete g;
    PyErr_SetString(PyExc_ValueError, "inconsistent graph arrays");
    return nullptr;
  }
  GraphObject *self = reinterpret_cast<GraphObject *>(type->tp_alloc(type, 0));
  if (!self) {
    delete g;
    return nullptr;
  }
  self->g = g;
  return reinterpret_cast<PyObject *>(self);
}

// ---------------------------------------------------------------------------------- search

struct Config {
  float acoustic_scale = 0.1f;
  float beam = 16.0f;
  int32_t max_active = std::numeric_limits<int32_t>::max();
  int32_t min_active = 200;
  float lattice_beam = 10.0f;
  int32_t prune_interval = 25;
  float beam_delta = 0.5f;
  float prune_scale = 0.1f;
};

struct Token {
  float tot_cost;
  float extra_cost;
  int32_t links;  // head of forward links (-1: none)
  int32_t next;   // next token of the same frame (-1: end)
};

struct Link {
  int32_t next_tok;
  int32_t ilabel, olabel;
  float graph_cost, acoustic_cost;
  int32_t next;
};

struct TokenList {
  int32_t toks = -1;
  bool must_prune_forward_links = true;
  bool must_prune_tokens = true;
};

// A raw (state-level) lattice: states numbered frame by frame in topological order.
struct RawLattice {
  int32_t num_states = 0;
  std::vector<int32_t> arc_src, arc_dst, arc_il, arc_ol;
  std::vector<float> arc_g, arc_a;
  std::vector<float> final_g;  // per state; +inf = not final (acoustic part of finals is 0)
};

bool ApproxEqualF(float a, float b, float rel) {
  if (a == b) return true;
  float diff = std::fabs(a - b);
  if (std::isinf(diff) || diff != diff) return false;
  return diff <= rel * (std::fabs(a) + std::fabs(b));
}

class Decoder {
 public:
  Decoder(const GraphData &g, const float *ll, int32_t rows, int32_t cols, const int32_t *tid2pdf,
          const Config &cfg)
      : g_(g), ll_(ll), rows_(rows), cols_(cols), tid2pdf_(tid2pdf), cfg_(cfg) {
    state_tok_.assign(g.num_states, -1);
    state_stamp_.assign(g.num_states, -1);
  }

  bool Decode() {
    InitDecoding();
    for (int32_t frame = 0; frame < rows_; frame++) {
      if (frame % cfg_.prune_interval == 0) PruneActiveTokens(cfg_.lattice_beam * cfg_.prune_scale);
      float cutoff = ProcessEmitting(frame);
      ProcessNonemitting(cutoff);
    }
    FinalizeDecoding();
    return !active_.empty() && active_.back().toks != -1;
  }

  bool ReachedFinal() const { return final_relative_cost_ != kInf; }
  int64_t num_links_created() const { return links_created_; }

  void GetRawLattice(RawLattice *lat) const;

 private:
  const GraphData &g_;
  const float *ll_;
  int32_t rows_, cols_;
  const int32_t *tid2pdf_;
  Config cfg_;

  std::vector<Token> toks_;
  std::vector<int32_t> free_toks_;
  std::vector<Link> links_;
  std::vector<int32_t> free_links_;
  std::vector<TokenList> active_;
  std::vector<float> cost_offsets_;
  // The hash of the frame being built (Kaldi's toks_): state -> token while stamp matches.
  std::vector<int32_t> state_tok_, state_stamp_;
  int32_t stamp_ = 0;
  std::vector<int32_t> cur_states_;  // states of the current hash, insertion order
  std::vector<int32_t> prev_states_;
  std::vector<int32_t> queue_;
  std::vector<float> tmp_array_;
  std::unordered_map<int32_t, float> final_costs_;
  float final_relative_cost_ = kInf, final_best_cost_ = kInf;
  bool decoding_finalized_ = false;
  int64_t links_created_ = 0;

  float LogLikelihood(int32_t frame, int32_t tid) const {
    return cfg_.acoustic_scale * ll_[static_cast<int64_t>(frame) * cols_ + tid2pdf_[tid]];
  }

  int32_t NewToken(float tot_cost, float extra_cost, int32_t next) {
    int32_t t;
    if (!free_toks_.empty()) {
      t = free_toks_.back();
      free_toks_.pop_back();
    } else {
      t = static_cast<int32_t>(toks_.size());
      toks_.push_back(Token());
    }
    toks_[t] = Token{tot_cost, extra_cost, -1, next};
    return t;
  }

  int32_t NewLink(int32_t next_tok, int32_t il, int32_t ol, float gc, float ac, int32_t next) {
    int32_t l;
    if (!free_links_.empty()) {
      l = free_links_.back();
      free_links_.pop_back();
    } else {
      l = static_cast<int32_t>(links_.size());
      links_.push_back(Link());
    }
    links_[l] = Link{next_tok, il, ol, gc, ac, next};
    links_created_++;
    return l;
  }

  void DeleteForwardLinks(int32_t t) {
    int32_t l = toks_[t].links;
    while (l != -1) {
      int32_t n = links_[l].next;
      free_links_.push_back(l);
      l = n;
    }
    toks_[t].links = -1;
  }

  void ClearHash() {
    prev_states_.swap(cur_states_);
    cur_states_.clear();
    stamp_++;
  }

  // Kaldi FindOrAddToken: returns the token of `state` on frame `fpo` (frame plus one).
  int32_t FindOrAddToken(int32_t state, int32_t fpo, float tot_cost, bool *changed) {
    if (state_stamp_[state] != stamp_) {
      int32_t t = NewToken(tot_cost, 0.0f, active_[fpo].toks);
      active_[fpo].toks = t;
      state_stamp_[state] = stamp_;
      state_tok_[state] = t;
      cur_states_.push_back(state);
      if (changed) *changed = true;
      return t;
    }
    int32_t t = state_tok_[state];
    if (toks_[t].tot_cost > tot_cost) {
      toks_[t].tot_cost = tot_cost;
      if (changed) *changed = true;
    } else if (changed) {
      *changed = false;
    }
    return t;
  }

  void InitDecoding() {
    active_.assign(1, TokenList());
    int32_t t = NewToken(0.0f, 0.0f, -1);
    active_[0].toks = t;
    state_stamp_[g_.start] = stamp_;
    state_tok_[g_.start] = t;
    cur_states_.push_back(g_.start);
    ProcessNonemitting(cfg_.beam);
  }

  float GetCutoff(const std::vector<int32_t> &states, size_t *tok_count, float *adaptive_beam,
                  int32_t *best_state) {
    float best_weight = kInf;
    *best_state = -1;
    if (cfg_.max_active == std::numeric_limits<int32_t>::max() && cfg_.min_active == 0) {
      for (int32_t s : states) {
        float w = toks_[state_tok_of_prev(s)].tot_cost;
        if (w < best_weight) {
          best_weight = w;
          *best_state = s;
        }
      }
      *tok_count = states.size();
      *adaptive_beam = cfg_.beam;
      return best_weight + cfg_.beam;
    }
    tmp_array_.clear();
    for (int32_t s : states) {
      float w = toks_[state_tok_of_prev(s)].tot_cost;
      tmp_array_.push_back(w);
      if (w < best_weight) {
        best_weight = w;
        *best_state = s;
      }
    }
    *tok_count = states.size();
    float beam_cutoff = best_weight + cfg_.beam, min_active_cutoff = kInf, max_active_cutoff = kInf;
    if (tmp_array_.size() > static_cast<size_t>(cfg_.max_active)) {
      std::nth_element(tmp_array_.begin(), tmp_array_.begin() + cfg_.max_active, tmp_array_.end());
      max_active_cutoff = tmp_array_[cfg_.max_active];
    }
    if (max_active_cutoff < beam_cutoff) {
      *adaptive_beam = max_active_cutoff - best_weight + cfg_.beam_delta;
      return max_active_cutoff;
    }
    if (tmp_array_.size() > static_cast<size_t>(cfg_.min_active)) {
      if (cfg_.min_active == 0) {
        min_active_cutoff = best_weight;
      } else {
        std::nth_element(tmp_array_.begin(), tmp_array_.begin() + cfg_.min_active,
                         tmp_array_.size() > static_cast<size_t>(cfg_.max_active)
                             ? tmp_array_.begin() + cfg_.max_active
                             : tmp_array_.end());
        min_active_cutoff = tmp_array_[cfg_.min_active];
      }
    }
    if (min_active_cutoff > beam_cutoff) {
      *adaptive_beam = min_active_cutoff - best_weight + cfg_.beam_delta;
      return min_active_cutoff;
    }
    *adaptive_beam = cfg_.beam;
    return beam_cutoff;
  }

  // The previous hash's state -> token entries (filled by ProcessEmitting before the hash is
  // cleared; valid for the states in prev_states_).
  std::vector<int32_t> prev_tok_lookup_;
  int32_t state_tok_of_prev(int32_t state) const { return prev_tok_lookup_[state]; }

  float ProcessEmitting(int32_t frame) {
    active_.resize(active_.size() + 1);
    // Remember the previous hash's tokens before clearing it.
    if (prev_tok_lookup_.size() != static_cast<size_t>(g_.num_states))
      prev_tok_lookup_.assign(g_.num_states, -1);
    for (int32_t s : cur_states_) prev_tok_lookup_[s] = state_tok_[s];
    ClearHash();
    size_t tok_cnt;
    float adaptive_beam;
    int32_t best_state;
    float cur_cutoff = GetCutoff(prev_states_, &tok_cnt, &adaptive_beam, &best_state);
    float next_cutoff = kInf;
    float cost_offset = 0.0f;
    if (best_state >= 0) {
      const Token &tok = toks_[prev_tok_lookup_[best_state]];
      cost_offset = -tok.tot_cost;
      for (int64_t a = g_.offsets[best_state]; a < g_.offsets[best_state + 1]; a++) {
        if (g_.ilabel[a] != 0) {
          float new_weight = g_.weight[a] + cost_offset - LogLikelihood(frame, g_.ilabel[a]) + tok.tot_cost;
          if (new_weight + adaptive_beam < next_cutoff) next_cutoff = new_weight + adaptive_beam;
        }
      }
    }
    cost_offsets_.resize(frame + 1, 0.0f);
    cost_offsets_[frame] = cost_offset;
    for (int32_t state : prev_states_) {
      int32_t t = prev_tok_lookup_[state];
      float cur_cost = toks_[t].tot_cost;
      if (cur_cost <= cur_cutoff) {
        for (int64_t a = g_.offsets[state]; a < g_.offsets[state + 1]; a++) {
          int32_t il = g_.ilabel[a];
          if (il == 0) continue;
          float ac_cost = cost_offset - LogLikelihood(frame, il), graph_cost = g_.weight[a],
                tot_cost = cur_cost + ac_cost + graph_cost;
          if (tot_cost >= next_cutoff) continue;
          if (tot_cost + adaptive_beam < next_cutoff) next_cutoff = tot_cost + adaptive_beam;
          int32_t nt = FindOrAddToken(g_.nextstate[a], frame + 1, tot_cost, nullptr);
          int32_t l = NewLink(nt, il, g_.olabel[a], graph_cost, ac_cost, toks_[t].links);
          toks_[t].links = l;
        }
      }
    }
    return next_cutoff;
  }

  void ProcessNonemitting(float cutoff) {
    int32_t frame = static_cast<int32_t>(active_.size()) - 2;
    queue_.clear();
    for (int32_t s : cur_states_)
      if (g_.has_ieps[s]) queue_.push_back(s);
    while (!queue_.empty()) {
      int32_t state = queue_.back();
      queue_.pop_back();
      int32_t t = state_tok_[state];
      float cur_cost = toks_[t].tot_cost;
      if (cur_cost >= cutoff) continue;
      DeleteForwardLinks(t);
      for (int64_t a = g_.offsets[state]; a < g_.offsets[state + 1]; a++) {
        if (g_.ilabel[a] != 0) continue;
        float graph_cost = g_.weight[a], tot_cost = cur_cost + graph_cost;
        if (tot_cost < cutoff) {
          bool changed;
          int32_t ns = g_.nextstate[a];
          int32_t nt = FindOrAddToken(ns, frame + 1, tot_cost, &changed);
          int32_t l = NewLink(nt, 0, g_.olabel[a], graph_cost, 0.0f, toks_[t].links);
          toks_[t].links = l;
          if (changed && g_.has_ieps[ns]) queue_.push_back(ns);
        }
      }
    }
  }

  void PruneForwardLinks(int32_t fpo, bool *extra_costs_changed, bool *links_pruned, float delta) {
    *extra_costs_changed = false;
    *links_pruned = false;
    bool changed = true;
    while (changed) {
      changed = false;
      for (int32_t t = active_[fpo].toks; t != -1; t = toks_[t].next) {
        int32_t prev_link = -1;
        float tok_extra_cost = kInf;
        for (int32_t l = toks_[t].links; l != -1;) {
          const Link &lk = links_[l];
          const Token &nt = toks_[lk.next_tok];
          float link_extra_cost =
              nt.extra_cost + ((toks_[t].tot_cost + lk.acoustic_cost + lk.graph_cost) - nt.tot_cost);
          if (link_extra_cost > cfg_.lattice_beam) {
            int32_t next_link = lk.next;
            if (prev_link != -1)
              links_[prev_link].next = next_link;
            else
              toks_[t].links = next_link;
            free_links_.push_back(l);
            l = next_link;
            *links_pruned = true;
          } else {
            if (link_extra_cost < 0.0f) link_extra_cost = 0.0f;
            if (link_extra_cost < tok_extra_cost) tok_extra_cost = link_extra_cost;
            prev_link = l;
            l = lk.next;
          }
        }
        if (std::fabs(tok_extra_cost - toks_[t].extra_cost) > delta) changed = true;
        toks_[t].extra_cost = tok_extra_cost;
      }
      if (changed) *extra_costs_changed = true;
    }
  }

  void ComputeFinalCosts() {
    float best_cost = kInf, best_cost_with_final = kInf;
    final_costs_.clear();
    for (int32_t state : cur_states_) {
      int32_t t = state_tok_[state];
      float final_cost = g_.finals[state];
      float cost = toks_[t].tot_cost, cost_with_final = cost + final_cost;
      best_cost = std::min(cost, best_cost);
      best_cost_with_final = std::min(cost_with_final, best_cost_with_final);
      if (final_cost != kInf) final_costs_[t] = final_cost;
    }
    if (best_cost == kInf && best_cost_with_final == kInf)
      final_relative_cost_ = kInf;
    else
      final_relative_cost_ = best_cost_with_final - best_cost;
    final_best_cost_ = best_cost_with_final != kInf ? best_cost_with_final : best_cost;
  }

  void PruneForwardLinksFinal() {
    int32_t fpo = static_cast<int32_t>(active_.size()) - 1;
    ComputeFinalCosts();
    decoding_finalized_ = true;
    ClearHash();
    bool changed = true;
    const float delta = 1.0e-05f;
    while (changed) {
      changed = false;
      for (int32_t t = active_[fpo].toks; t != -1; t = toks_[t].next) {
        int32_t prev_link = -1;
        float final_cost;
        if (final_costs_.empty()) {
          final_cost = 0.0f;
        } else {
          auto it = final_costs_.find(t);
          final_cost = it != final_costs_.end() ? it->second : kInf;
        }
        float tok_extra_cost = toks_[t].tot_cost + final_cost - final_best_cost_;
        for (int32_t l = toks_[t].links; l != -1;) {
          const Link &lk = links_[l];
          const Token &nt = toks_[lk.next_tok];
          float link_extra_cost =
              nt.extra_cost + ((toks_[t].tot_cost + lk.acoustic_cost + lk.graph_cost) - nt.tot_cost);
          if (link_extra_cost > cfg_.lattice_beam) {
            int32_t next_link = lk.next;
            if (prev_link != -1)
              links_[prev_link].next = next_link;
            else
              toks_[t].links = next_link;
            free_links_.push_back(l);
            l = next_link;
          } else {
            if (link_extra_cost < 0.0f) link_extra_cost = 0.0f;
            if (link_extra_cost < tok_extra_cost) tok_extra_cost = link_extra_cost;
            prev_link = l;
            l = lk.next;
          }
        }
        if (tok_extra_cost > cfg_.lattice_beam) tok_extra_cost = kInf;
        if (!ApproxEqualF(toks_[t].extra_cost, tok_extra_cost, delta)) changed = true;
        toks_[t].extra_cost = tok_extra_cost;
      }
    }
  }

  void PruneTokensForFrame(int32_t fpo) {
    int32_t prev = -1;
    for (int32_t t = active_[fpo].toks, next; t != -1; t = next) {
      next = toks_[t].next;
      if (toks_[t].extra_cost == kInf) {
        if (prev != -1)
          toks_[prev].next = next;
        else
          active_[fpo].toks = next;
        DeleteForwardLinks(t);
        free_toks_.push_back(t);
      } else {
        prev = t;
      }
    }
  }

  void PruneActiveTokens(float delta) {
    int32_t cur_fpo = static_cast<int32_t>(active_.size()) - 1;
    for (int32_t f = cur_fpo - 1; f >= 0; f--) {
      if (active_[f].must_prune_forward_links) {
        bool extra_costs_changed = false, links_pruned = false;
        PruneForwardLinks(f, &extra_costs_changed, &links_pruned, delta);
        if (extra_costs_changed && f > 0) active_[f - 1].must_prune_forward_links = true;
        if (links_pruned) active_[f].must_prune_tokens = true;
        active_[f].must_prune_forward_links = false;
      }
      if (f + 1 < cur_fpo && active_[f + 1].must_prune_tokens) {
        PruneTokensForFrame(f + 1);
        active_[f + 1].must_prune_tokens = false;
      }
    }
  }

  void FinalizeDecoding() {
    int32_t final_fpo = static_cast<int32_t>(active_.size()) - 1;
    PruneForwardLinksFinal();
    for (int32_t f = final_fpo - 1; f >= 0; f--) {
      bool b1, b2;
      PruneForwardLinks(f, &b1, &b2, 0.0f);
      PruneTokensForFrame(f + 1);
    }
    PruneTokensForFrame(0);
  }

 public:
  // Topological order of the tokens of one frame along epsilon links (oldest token first
  // among independent ones, as Kaldi's TopSortTokens starts from).
  void TopSortTokens(int32_t head, std::vector<int32_t> *out) const {
    std::vector<int32_t> list;
    for (int32_t t = head; t != -1; t = toks_[t].next) list.push_back(t);
    std::reverse(list.begin(), list.end());
    std::unordered_map<int32_t, int32_t> pos;
    pos.reserve(list.size() * 2);
    for (size_t i = 0; i < list.size(); i++) pos[list[i]] = static_cast<int32_t>(i);
    std::vector<int32_t> indeg(list.size(), 0);
    for (int32_t t : list)
      for (int32_t l = toks_[t].links; l != -1; l = links_[l].next)
        if (links_[l].ilabel == 0) {
          auto it = pos.find(links_[l].next_tok);
          if (it != pos.end()) indeg[it->second]++;
        }
    out->clear();
    std::vector<int32_t> stack;
    // process in list order: a min-heap on position keeps the order stable
    std::vector<int32_t> ready;
    for (size_t i = 0; i < list.size(); i++)
      if (indeg[i] == 0) ready.push_back(static_cast<int32_t>(i));
    std::make_heap(ready.begin(), ready.end(), std::greater<int32_t>());
    while (!ready.empty()) {
      std::pop_heap(ready.begin(), ready.end(), std::greater<int32_t>());
      int32_t i = ready.back();
      ready.pop_back();
      int32_t t = list[i];
      out->push_back(t);
      for (int32_t l = toks_[t].links; l != -1; l = links_[l].next)
        if (links_[l].ilabel == 0) {
          auto it = pos.find(links_[l].next_tok);
          if (it != pos.end() && --indeg[it->second] == 0) {
            ready.push_back(it->second);
            std::push_heap(ready.begin(), ready.end(), std::greater<int32_t>());
          }
        }
    }
    if (out->size() != list.size()) {  // epsilon cycle: keep the remaining ones in list order
      std::vector<char> seen(list.size(), 0);
      for (int32_t t : *out) seen[pos[t]] = 1;
      for (size_t i = 0; i < list.size(); i++)
        if (!seen[i]) out->push_back(list[i]);
    }
  }

  const std::vector<TokenList> &active() const { return active_; }
};

void Decoder::GetRawLattice(RawLattice *lat) const {
  int32_t num_frames = static_cast<int32_t>(active_.size()) - 1;
  std::unordered_map<int32_t, int32_t> tok_map;
  std::vector<std::vector<int32_t>> order(num_frames + 1);
  int32_t n = 0;
  for (int32_t f = 0; f <= num_frames; f++) {
    TopSortTokens(active_[f].toks, &order[f]);
    for (int32_t t : order[f]) tok_map[t] = n++;
  }
  lat->num_states = n;
  lat->final_g.assign(n, kInf);
  for (int32_t f = 0; f <= num_frames; f++) {
    for (int32_t t : order[f]) {
      int32_t cur = tok_map[t];
      for (int32_t l = toks_[t].links; l != -1; l = links_[l].next) {
        const Link &lk = links_[l];
        auto it = tok_map.find(lk.next_tok);
        if (it == tok_map.end()) continue;
        float cost_offset = lk.ilabel != 0 ? cost_offsets_[f] : 0.0f;
        lat->arc_src.push_back(cur);
        lat->arc_dst.push_back(it->second);
        lat->arc_il.push_back(lk.ilabel);
        lat->arc_ol.push_back(lk.olabel);
        lat->arc_g.push_back(lk.graph_cost);
        lat->arc_a.push_back(lk.acoustic_cost - cost_offset);
      }
      if (f == num_frames) {
        if (!final_costs_.empty()) {
          auto it = final_costs_.find(t);
          if (it != final_costs_.end()) lat->final_g[cur] = it->second;
        } else {
          lat->final_g[cur] = 0.0f;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------- lattice utils

// Lattice weight order (Kaldi Compare in lattice-weight.h): 1 if a is better (cheaper).
inline int CompareW(float ag, float aa, float bg, float ba) {
  float f1 = ag + aa, f2 = bg + ba;
  if (f1 < f2) return 1;
  if (f1 > f2) return -1;
  if (ag < bg) return 1;
  if (ag > bg) return -1;
  return 0;
}

struct Adjacency {
  std::vector<int64_t> off;
  std::vector<int32_t> arcs;  // arc indices grouped by source state, in arc order
};

Adjacency BuildAdjacency(const RawLattice &lat) {
  Adjacency adj;
  adj.off.assign(lat.num_states + 1, 0);
  for (int32_t s : lat.arc_src) adj.off[s + 1]++;
  for (int32_t s = 0; s < lat.num_states; s++) adj.off[s + 1] += adj.off[s];
  adj.arcs.resize(lat.arc_src.size());
  std::vector<int64_t> pos(adj.off.begin(), adj.off.end() - 1);
  for (size_t a = 0; a < lat.arc_src.size(); a++) adj.arcs[pos[lat.arc_src[a]]++] = static_cast<int32_t>(a);
  return adj;
}

// Kaldi PruneLattice on the raw lattice (states are topologically numbered): keep arcs on a path
// within `beam` of the best (forward + backward costs in double), drop the others.
void PruneRaw(RawLattice *lat, double beam) {
  int32_t n = lat->num_states;
  if (n == 0) return;
  std::vector<double> fwd(n, INFINITY), bwd(n, INFINITY);
  Adjacency adj = BuildAdjacency(*lat);
  fwd[0] = 0.0;
  for (int32_t s = 0; s < n; s++) {
    if (fwd[s] == INFINITY) continue;
    for (int64_t k = adj.off[s]; k < adj.off[s + 1]; k++) {
      int32_t a = adj.arcs[k];
      double c = fwd[s] + lat->arc_g[a] + lat->arc_a[a];
      if (c < fwd[lat->arc_dst[a]]) fwd[lat->arc_dst[a]] = c;
    }
  }
  for (int32_t s = n - 1; s >= 0; s--) {
    double b = lat->final_g[s] == kInf ? INFINITY : static_cast<double>(lat->final_g[s]);
    for (int64_t k = adj.off[s]; k < adj.off[s + 1]; k++) {
      int32_t a = adj.arcs[k];
      double c = static_cast<double>(lat->arc_g[a]) + lat->arc_a[a] + bwd[lat->arc_dst[a]];
      if (c < b) b = c;
    }
    bwd[s] = b;
  }
  double cutoff = bwd[0] + beam;
  RawLattice out;
  out.num_states = n;
  out.final_g = lat->final_g;
  for (int32_t s = 0; s < n; s++)
    if (out.final_g[s] != kInf && fwd[s] + out.final_g[s] > cutoff) out.final_g[s] = kInf;
  for (size_t a = 0; a < lat->arc_src.size(); a++) {
    int32_t s = lat->arc_src[a], d = lat->arc_dst[a];
    double c = fwd[s] + lat->arc_g[a] + lat->arc_a[a] + bwd[d];
    if (c <= cutoff) {
      out.arc_src.push_back(s);
      out.arc_dst.push_back(d);
      out.arc_il.push_back(lat->arc_il[a]);
      out.arc_ol.push_back(lat->arc_ol[a]);
      out.arc_g.push_back(lat->arc_g[a]);
      out.arc_a.push_back(lat->arc_a[a]);
    }
  }
  *lat = std::move(out);
}

// Best path of the raw lattice (states topologically numbered, start 0): path weights summed
// per component in float, compared as Kaldi's LatticeWeight.
bool RawBestPath(const RawLattice &lat, std::vector<int32_t> *words, std::vector<int32_t> *ali,
                 float *g_out, float *a_out) {
  int32_t n = lat.num_states;
  if (n == 0) return false;
  std::vector<float> bg(n, kInf), ba(n, kInf);
  std::vector<int32_t> pred(n, -1);
  Adjacency adj = BuildAdjacency(lat);
  bg[0] = ba[0] = 0.0f;
  int32_t best_final = -1;
  float fg = kInf, fa = kInf;
  for (int32_t s = 0; s < n; s++) {
    if (bg[s] == kInf) continue;
    for (int64_t k = adj.off[s]; k < adj.off[s + 1]; k++) {
      int32_t a = adj.arcs[k], d = lat.arc_dst[a];
      float ng = bg[s] + lat.arc_g[a], na = ba[s] + lat.arc_a[a];
      if (bg[d] == kInf || CompareW(ng, na, bg[d], ba[d]) == 1) {
        bg[d] = ng;
        ba[d] = na;
        pred[d] = a;
      }
    }
    if (lat.final_g[s] != kInf) {
      float tg = bg[s] + lat.final_g[s], ta = ba[s];
      if (best_final < 0 || CompareW(tg, ta, fg, fa) == 1) {
        best_final = s;
        fg = tg;
        fa = ta;
      }
    }
  }
  if (best_final < 0) return false;
  std::vector<int32_t> arcs;
  for (int32_t s = best_final; pred[s] != -1; s = lat.arc_src[pred[s]]) arcs.push_back(pred[s]);
  std::reverse(arcs.begin(), arcs.end());
  words->clear();
  ali->clear();
  for (int32_t a : arcs) {
    if (lat.arc_il[a] != 0) ali->push_back(lat.arc_il[a]);
    if (lat.arc_ol[a] != 0) words->push_back(lat.arc_ol[a]);
  }
  *g_out = fg;
  *a_out = fa;
  return true;
}

// ---------------------------------------------------------------------------------- determinization

// Open-addressing hash map from 64-bit keys (never ~0) to non-negative ints, for the string trie:
// its lookups dominate determinization time on flat (binary-net) scores, where std::unordered_map
// spent most of it in node allocation and rehashing.
class FlatMap {
 public:
  explicit FlatMap(size_t capacity) {
    size_t cap = 16;
    while (cap < 2 * capacity) cap <<= 1;
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, -1);
    mask_ = cap - 1;
  }
  int32_t Find(uint64_t key) const {
    for (size_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return vals_[i];
      if (keys_[i] == kEmpty) return -1;
    }
  }
  void Insert(uint64_t key, int32_t val) {  // key must not be present
    if (2 * (size_ + 1) > keys_.size()) Grow();
    size_t i = Mix(key) & mask_;
    while (keys_[i] != kEmpty) i = (i + 1) & mask_;
    keys_[i] = key;
    vals_[i] = val;
    size_++;
  }

 private:
  static constexpr uint64_t kEmpty = ~static_cast<uint64_t>(0);
  static uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  void Grow() {
    std::vector<uint64_t> keys;
    std::vector<int32_t> vals;
    keys.swap(keys_);
    vals.swap(vals_);
    keys_.assign(keys.size() * 2, kEmpty);
    vals_.assign(keys.size() * 2, -1);
    mask_ = keys_.size() - 1;
    size_ = 0;
    for (size_t i = 0; i < keys.size(); i++)
      if (keys[i] != kEmpty) Insert(keys[i], vals[i]);
  }
  std::vector<uint64_t> keys_;
  std::vector<int32_t> vals_;
  size_t mask_ = 0, size_ = 0;
};

class StringRepo {
 public:
  StringRepo() : child_(1 << 16), reroot_(1 << 12) {
    first_child_.push_back(-1);
    first_label_.push_back(kNoLabel);
    parent_.push_back(-1);
    label_.push_back(0);
    depth_.push_back(0);
  }
  int32_t Empty() const { return 0; }
  int32_t Append(int32_t s, int32_t label) {
    // the first child of a node is kept inline (most nodes have one: a cache miss saved per step)
    if (first_label_[s] == label) return first_child_[s];
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(s)) << 32) | static_cast<uint32_t>(label);
    bool first = first_child_[s] < 0;
    if (!first) {
      int32_t found = child_.Find(key);
      if (found >= 0) return found;
    }
    int32_t id = static_cast<int32_t>(parent_.size());
    parent_.push_back(s);
    label_.push_back(label);
    depth_.push_back(depth_[s] + 1);
    first_child_.push_back(-1);
    first_label_.push_back(kNoLabel);
    if (first) {
      first_child_[s] = id;
      first_label_[s] = label;
    } else {
      child_.Insert(key, id);
    }
    return id;
  }
  int32_t Depth(int32_t s) const { return depth_[s]; }
  void ToVector(int32_t s, std::vector<int32_t> *v) const {
    v->resize(depth_[s]);
    for (int32_t i = depth_[s] - 1; i >= 0; i--, s = parent_[s]) (*v)[i] = label_[s];
  }
  int32_t Ancestor(int32_t s, int32_t depth) const {
    while (depth_[s] > depth) s = parent_[s];
    return s;
  }
  int32_t CommonPrefix(int32_t a, int32_t b) const {
    if (a == b || a == 0 || b == 0) return a == b ? a : 0;
    if (depth_[a] > depth_[b]) a = Ancestor(a, depth_[b]);
    if (depth_[b] > depth_[a]) b = Ancestor(b, depth_[a]);
    while (a != b) {
      a = parent_[a];
      b = parent_[b];
    }
    return a;
  }
  int32_t RemovePrefix(int32_t s, int32_t plen) {
    if (plen == 0) return s;
    return Reroot(s, Ancestor(s, plen));
  }
  // The string of `s` with its prefix `c` (an ancestor of s) removed, memoised per (s, c): strings
  // of one subset share prefixes, so each trie node is re-rooted once.
  int32_t Reroot(int32_t s, int32_t c) {
    std::vector<int32_t> path;
    int32_t base = 0;
    while (s != c) {
      int32_t found = reroot_.Find(Key(s, c));
      if (found >= 0) {
        base = found;
        break;
      }
      path.push_back(s);
      s = parent_[s];
    }
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      base = Append(base, label_[*it]);
      reroot_.Insert(Key(*it, c), base);
    }
    return base;
  }
  int32_t Concat(int32_t a, int32_t b) {
    if (b == 0) return a;
    std::vector<int32_t> v;
    ToVector(b, &v);
    for (int32_t x : v) a = Append(a, x);
    return a;
  }
  // Kaldi's string order inside Compare(weight, string): shorter is better, then larger labels.
  int CompareStrings(int32_t a, int32_t b) const {
    if (a == b) return 0;
    if (depth_[a] > depth_[b]) return -1;
    if (depth_[a] < depth_[b]) return 1;
    std::vector<int32_t> va, vb;
    ToVector(a, &va);
    ToVector(b, &vb);
    for (size_t i = 0; i < va.size(); i++) {
      if (va[i] < vb[i]) return -1;
      if (va[i] > vb[i]) return 1;
    }
    return 0;
  }
  size_t size() const { return parent_.size(); }

 private:
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static constexpr int32_t kNoLabel = std::numeric_limits<int32_t>::min();
  std::vector<int32_t> parent_, label_, depth_, first_child_, first_label_;
  FlatMap child_;
  FlatMap reroot_;
};

struct Element {
  int32_t state;
  int32_t str;
  float g, a;
};

struct DetArc {
  int32_t src, dst, word, str;
  float g, a;
};

struct CompactOut {
  int32_t num_states = 0;
  std::vector<DetArc> arcs;
  std::vector<int32_t> final_state, final_str;
  std::vector<float> final_gv, final_av;
};

class Determinizer {
 public:
  Determinizer(const RawLattice &lat, StringRepo *repo, size_t max_states, int64_t max_work)
      : lat_(lat), repo_(*repo), max_states_(max_states), max_work_(max_work) {
    adj_ = BuildAdjacency(lat);
    where_.assign(lat.num_states, -1);
    has_word_arc_.assign(lat.num_states, 0);
    for (size_t a = 0; a < lat.arc_src.size(); a++)
      if (lat.arc_ol[a] != 0) has_word_arc_[lat.arc_src[a]] = 1;
  }

  // Pruned determinization (Kaldi DeterminizeLatticePruned): output states are expanded best
  // first, ordered by the cost of the best complete path through them (forward cost in the output
  // + the exact backward cost of the best element in the raw lattice, so the order is A* with an
  // exact heuristic); states and arcs whose best complete path is more than `beam` worse than the
  // best path are never expanded or created.  Returns false when the limits were hit.
  bool Run(CompactOut *out, double beam) {
    out->num_states = 0;
    if (lat_.num_states == 0) return true;
    ComputeBackward();
    if (bwd_[0] == INFINITY) return true;
    const double cutoff = bwd_[0] + beam;
    std::vector<Element> start{{0, repo_.Empty(), 0.0f, 0.0f}};
    Closure(&start);
    Minimal(&start);
    std::sort(start.begin(), start.end(), [](const Element &x, const Element &y) { return x.state < y.state; });
    // the start subset is not normalised (its weight and string stay in the elements)
    AddState(start);
    fwd_[0] = 0.0;
    typedef std::pair<double, int32_t> QItem;
    std::priority_queue<QItem, std::vector<QItem>, std::greater<QItem>> queue;
    queue.push({Heuristic(0), 0});
    while (!queue.empty()) {
      QItem top = queue.top();
      queue.pop();
      int32_t q = top.second;
      if (expanded_[q] || top.first != fwd_[q] + h_[q]) continue;  // stale entry
      if (top.first > cutoff) break;
      if (subsets_.size() > max_states_ || work_ > max_work_) return false;
      expanded_[q] = 1;
      ProcessState(q, out, cutoff, &queue);
    }
    out->num_states = static_cast<int32_t>(subsets_.size());
    return true;
  }

 private:
  const RawLattice &lat_;
  StringRepo &repo_;
  size_t max_states_;
  int64_t max_work_;
  int64_t work_ = 0;
  Adjacency adj_;
  std::vector<char> has_word_arc_;
  std::vector<int32_t> where_;
  std::vector<std::vector<Element>> subsets_;
  std::unordered_map<uint64_t, std::vector<int32_t>> hash_;
  std::vector<double> bwd_;   // raw lattice: best cost from a state to the end
  std::vector<double> fwd_;   // output states: best cost from the start
  std::vector<double> h_;     // output states: best completion (min over elements)
  std::vector<char> expanded_;

  void ComputeBackward() {
    int32_t n = lat_.num_states;
    bwd_.assign(n, INFINITY);
    for (int32_t s = n - 1; s >= 0; s--) {
      double b = lat_.final_g[s] == kInf ? INFINITY : static_cast<double>(lat_.final_g[s]);
      for (int64_t k = adj_.off[s]; k < adj_.off[s + 1]; k++) {
        int32_t a = adj_.arcs[k];
        double c = static_cast<double>(lat_.arc_g[a]) + lat_.arc_a[a] + bwd_[lat_.arc_dst[a]];
        if (c < b) b = c;
      }
      bwd_[s] = b;
    }
  }

  double Heuristic(int32_t q) const { return h_[q]; }

  double SubsetCompletion(const std::vector<Element> &sub) const {
    double h = INFINITY;
    for (const Element &e : sub) {
      double c = static_cast<double>(e.g) + e.a + bwd_[e.state];
      if (c < h) h = c;
    }
    return h;
  }

  bool Better(const Element &x, const Element &y) const {
    int c = CompareW(x.g, x.a, y.g, y.a);
    if (c != 0) return c == 1;
    return repo_.CompareStrings(x.str, y.str) == 1;
  }

  // Closure over word-epsilon arcs.  Raw-lattice states are numbered topologically, so taking
  // states in increasing order from a heap expands each state once, after its best (weight,
  // string) is known.
  void Closure(std::vector<Element> *subset) {
    // where_[state]: index of the state's element in *subset (-1: none); reset before returning
    std::vector<int32_t> &where = where_;
    std::vector<int32_t> heap;
    for (size_t i = 0; i < subset->size(); i++) {
      where[(*subset)[i].state] = static_cast<int32_t>(i);
      heap.push_back((*subset)[i].state);
    }
    std::make_heap(heap.begin(), heap.end(), std::greater<int32_t>());
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<int32_t>());
      int32_t s = heap.back();
      heap.pop_back();
      Element e = (*subset)[where[s]];
      for (int64_t k = adj_.off[s]; k < adj_.off[s + 1]; k++) {
        int32_t a = adj_.arcs[k];
        if (lat_.arc_ol[a] != 0) continue;
        work_++;
        int32_t d = lat_.arc_dst[a];
        float ng = e.g + lat_.arc_g[a], na = e.a + lat_.arc_a[a];
        if (where[d] < 0) {
          where[d] = static_cast<int32_t>(subset->size());
          subset->push_back(Element{d, lat_.arc_il[a] != 0 ? repo_.Append(e.str, lat_.arc_il[a]) : e.str, ng, na});
          heap.push_back(d);
          std::push_heap(heap.begin(), heap.end(), std::greater<int32_t>());
        } else {
          Element &old = (*subset)[where[d]];
          int c = CompareW(ng, na, old.g, old.a);
          if (c == -1) continue;
          int32_t nstr = lat_.arc_il[a] != 0 ? repo_.Append(e.str, lat_.arc_il[a]) : e.str;
          if (c == 1 || repo_.CompareStrings(nstr, old.str) == 1) {
            old = Element{d, nstr, ng, na};  // d > s: not expanded yet, still in the heap
          }
        }
      }
    }
    for (const Element &e : *subset) where[e.state] = -1;
  }

  void Minimal(std::vector<Element> *subset) const {
    size_t k = 0;
    for (size_t i = 0; i < subset->size(); i++) {
      const Element &e = (*subset)[i];
      if (has_word_arc_[e.state] || lat_.final_g[e.state] != kInf) (*subset)[k++] = e;
    }
    subset->resize(k);
  }

  // Moves the best weight and the common string prefix out of the subset.
  void Normalize(std::vector<Element> *subset, float *g, float *a, int32_t *str) {
    const Element *best = &(*subset)[0];
    int32_t common = (*subset)[0].str;
    for (size_t i = 1; i < subset->size(); i++) {
      if (CompareW((*subset)[i].g, (*subset)[i].a, best->g, best->a) == 1) best = &(*subset)[i];
      common = repo_.CommonPrefix(common, (*subset)[i].str);
    }
    *g = best->g;
    *a = best->a;
    *str = common;
    int32_t plen = repo_.Depth(common);
    float bg = *g, ba = *a;
    for (Element &e : *subset) {
      e.g -= bg;
      e.a -= ba;
      e.str = repo_.RemovePrefix(e.str, plen);
    }
  }

  static uint64_t Hash(const std::vector<Element> &subset) {
    uint64_t h = 1469598103934665603ULL;
    for (const Element &e : subset) {
      h = (h ^ static_cast<uint32_t>(e.state)) * 1099511628211ULL;
      h = (h ^ static_cast<uint32_t>(e.str)) * 1099511628211ULL;
    }
    return h;
  }

  static bool ApproxEqualW(float x, float y) {
    const float delta = 1.0f / 1024.0f;
    return x <= y + delta && y <= x + delta;
  }

  int32_t FindState(const std::vector<Element> &subset) {
    auto it = hash_.find(Hash(subset));
    if (it == hash_.end()) return -1;
    for (int32_t id : it->second) {
      const std::vector<Element> &o = subsets_[id];
      if (o.size() != subset.size()) continue;
      bool eq = true;
      for (size_t i = 0; i < o.size() && eq; i++)
        eq = o[i].state == subset[i].state && o[i].str == subset[i].str &&
             ApproxEqualW(o[i].g, subset[i].g) && ApproxEqualW(o[i].a, subset[i].a);
      if (eq) return id;
    }
    return -1;
  }

  int32_t AddState(const std::vector<Element> &subset) {
    int32_t id = static_cast<int32_t>(subsets_.size());
    subsets_.push_back(subset);
    hash_[Hash(subset)].push_back(id);
    fwd_.push_back(INFINITY);
    h_.push_back(SubsetCompletion(subset));
    expanded_.push_back(0);
    return id;
  }

  template <class Queue>
  void ProcessState(int32_t q, CompactOut *out, double cutoff, Queue *queue) {
    // final weight: best element with a final cost
    const std::vector<Element> cur = subsets_[q];
    bool is_final = false;
    Element fin{0, 0, 0.0f, 0.0f};
    for (const Element &e : cur) {
      if (lat_.final_g[e.state] == kInf) continue;
      Element f{e.state, e.str, e.g + lat_.final_g[e.state], e.a};
      if (!is_final || Better(f, fin)) {
        fin = f;
        is_final = true;
      }
    }
    if (is_final) {
      out->final_state.push_back(q);
      out->final_gv.push_back(fin.g);
      out->final_av.push_back(fin.a);
      out->final_str.push_back(fin.str);
    }
    std::map<int32_t, std::vector<Element>> by_word;
    for (const Element &e : cur) {
      for (int64_t k = adj_.off[e.state]; k < adj_.off[e.state + 1]; k++) {
        int32_t a = adj_.arcs[k];
        int32_t w = lat_.arc_ol[a];
        if (w == 0) continue;
        work_++;
        by_word[w].push_back(Element{lat_.arc_dst[a],
                                     lat_.arc_il[a] != 0 ? repo_.Append(e.str, lat_.arc_il[a]) : e.str,
                                     e.g + lat_.arc_g[a], e.a + lat_.arc_a[a]});
      }
    }
    for (auto &kv : by_word) {
      std::vector<Element> &sub = kv.second;
      // unique per state: keep the best
      std::sort(sub.begin(), sub.end(), [](const Element &x, const Element &y) { return x.state < y.state; });
      size_t k = 0;
      for (size_t i = 0; i < sub.size(); i++) {
        if (k > 0 && sub[k - 1].state == sub[i].state) {
          if (Better(sub[i], sub[k - 1])) sub[k - 1] = sub[i];
        } else {
          sub[k++] = sub[i];
        }
      }
      sub.resize(k);
      // best complete path through this transition; skip it when out of the beam
      if (fwd_[q] + SubsetCompletion(sub) > cutoff) continue;
      float g1, a1, g2, a2;
      int32_t s1, s2;
      Normalize(&sub, &g1, &a1, &s1);
      Closure(&sub);
      Minimal(&sub);
      if (sub.empty()) continue;  // dead end (cannot happen on a connected lattice)
      std::sort(sub.begin(), sub.end(), [](const Element &x, const Element &y) { return x.state < y.state; });
      Normalize(&sub, &g2, &a2, &s2);
      int32_t dst = FindState(sub);
      if (dst < 0) dst = AddState(sub);
      float ag = g1 + g2, aa = a1 + a2;
      out->arcs.push_back(DetArc{q, dst, kv.first, repo_.Concat(s1, s2), ag, aa});
      double f = fwd_[q] + static_cast<double>(ag) + aa;
      if (f < fwd_[dst] && !expanded_[dst]) {
        fwd_[dst] = f;
        queue->push({f + h_[dst], dst});
      }
    }
  }
};

// Prune a compact lattice to `beam` and renumber its states topologically (start = 0).
void PruneAndSortCompact(CompactOut *c, double beam) {
  int32_t n = c->num_states;
  if (n == 0) return;
  std::vector<std::vector<int32_t>> out_arcs(n);
  for (size_t i = 0; i < c->arcs.size(); i++) out_arcs[c->arcs[i].src].push_back(static_cast<int32_t>(i));
  // topological order by DFS (reverse postorder) from the start state 0
  std::vector<int32_t> order;
  std::vector<char> state(n, 0);
  std::vector<std::pair<int32_t, size_t>> stack{{0, 0}};
  state[0] = 1;
  while (!stack.empty()) {
    auto &top = stack.back();
    if (top.second < out_arcs[top.first].size()) {
      int32_t d = c->arcs[out_arcs[top.first][top.second++]].dst;
      if (!state[d]) {
        state[d] = 1;
        stack.push_back({d, 0});
      }
    } else {
      order.push_back(top.first);
      stack.pop_back();
    }
  }
  std::reverse(order.begin(), order.end());
  std::vector<double> fin(n, INFINITY), fwd(n, INFINITY), bwd(n, INFINITY);
  for (size_t i = 0; i < c->final_state.size(); i++)
    fin[c->final_state[i]] = static_cast<double>(c->final_gv[i]) + c->final_av[i];
  fwd[0] = 0.0;
  for (int32_t s : order)
    for (int32_t i : out_arcs[s]) {
      const DetArc &a = c->arcs[i];
      double v = fwd[s] + a.g + a.a;
      if (v < fwd[a.dst]) fwd[a.dst] = v;
    }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    int32_t s = *it;
    double b = fin[s];
    for (int32_t i : out_arcs[s]) {
      const DetArc &a = c->arcs[i];
      double v = static_cast<double>(a.g) + a.a + bwd[a.dst];
      if (v < b) b = v;
    }
    bwd[s] = b;
  }
  double cutoff = bwd[0] + beam;
  std::vector<int32_t> new_id(n, -1);
  int32_t m = 0;
  for (int32_t s : order)
    if (fwd[s] + bwd[s] <= cutoff) new_id[s] = m++;
  CompactOut r;
  r.num_states = m;
  for (int32_t s : order) {
    if (new_id[s] < 0) continue;
    for (int32_t i : out_arcs[s]) {
      DetArc a = c->arcs[i];
      if (new_id[a.dst] < 0 || fwd[s] + a.g + a.a + bwd[a.dst] > cutoff) continue;
      a.src = new_id[s];
      a.dst = new_id[a.dst];
      r.arcs.push_back(a);
    }
  }
  for (size_t i = 0; i < c->final_state.size(); i++) {
    int32_t s = c->final_state[i];
    if (new_id[s] < 0 || fwd[s] + fin[s] > cutoff) continue;
    r.final_state.push_back(new_id[s]);
    r.final_gv.push_back(c->final_gv[i]);
    r.final_av.push_back(c->final_av[i]);
    r.final_str.push_back(c->final_str[i]);
  }
  // finals sorted by state for a stable output
  std::vector<size_t> idx(r.final_state.size());
  for (size_t i = 0; i < idx.size(); i++) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return r.final_state[x] < r.final_state[y]; });
  CompactOut s2 = r;
  for (size_t i = 0; i < idx.size(); i++) {
    s2.final_state[i] = r.final_state[idx[i]];
    s2.final_gv[i] = r.final_gv[idx[i]];
    s2.final_av[i] = r.final_av[idx[i]];
    s2.final_str[i] = r.final_str[idx[i]];
  }
  *c = std::move(s2);
}

// ---------------------------------------------------------------------------------- phone-level first pass

// Renumber a raw lattice's states topologically from the start state 0 (reverse DFS postorder,
// arcs of a state kept in order); states not reachable from the start are dropped.
void TopSortRaw(RawLattice *lat) {
  int32_t n = lat->num_states;
  if (n == 0) return;
  Adjacency adj = BuildAdjacency(*lat);
  std::vector<int32_t> order;
  order.reserve(n);
  std::vector<char> seen(n, 0);
  std::vector<std::pair<int32_t, int64_t>> stack{{0, adj.off[0]}};
  seen[0] = 1;
  while (!stack.empty()) {
    std::pair<int32_t, int64_t> &top = stack.back();
    if (top.second < adj.off[top.first + 1]) {
      int32_t d = lat->arc_dst[adj.arcs[top.second++]];
      if (!seen[d]) {
        seen[d] = 1;
        stack.push_back({d, adj.off[d]});
      }
    } else {
      order.push_back(top.first);
      stack.pop_back();
    }
  }
  std::reverse(order.begin(), order.end());
  std::vector<int32_t> id(n, -1);
  for (size_t i = 0; i < order.size(); i++) id[order[i]] = static_cast<int32_t>(i);
  RawLattice out;
  out.num_states = static_cast<int32_t>(order.size());
  out.final_g.assign(out.num_states, kInf);
  for (int32_t s : order) {
    out.final_g[id[s]] = lat->final_g[s];
    for (int64_t k = adj.off[s]; k < adj.off[s + 1]; k++) {
      int32_t a = adj.arcs[k];
      out.arc_src.push_back(id[s]);
      out.arc_dst.push_back(id[lat->arc_dst[a]]);
      out.arc_il.push_back(lat->arc_il[a]);
      out.arc_ol.push_back(lat->arc_ol[a]);
      out.arc_g.push_back(lat->arc_g[a]);
      out.arc_a.push_back(lat->arc_a[a]);
    }
  }
  *lat = std::move(out);
}

// Kaldi DeterminizeLatticeInsertPhones (src/lat/determinize-lattice-pruned.cc): an arc (not
// leaving the start state) whose transition-id is the first of a phone (HMM state 0, not a
// self-loop) gets the phone as its label, written -phone here (words are > 0); an arc that already
// has a word gets a new arc with the phone right after it.  Re-sorts the states topologically.
void InsertPhones(RawLattice *lat, const int32_t *phone_start, int64_t ntid) {
  size_t m = lat->arc_src.size();
  for (size_t a = 0; a < m; a++) {
    int32_t t = lat->arc_il[a];
    if (t <= 0 || t >= ntid || phone_start[t] <= 0 || lat->arc_src[a] == 0) continue;
    int32_t label = -phone_start[t];
    if (lat->arc_ol[a] == 0) {
      lat->arc_ol[a] = label;
      continue;
    }
    int32_t extra = lat->num_states++;
    lat->final_g.push_back(kInf);
    int32_t next = lat->arc_dst[a];
    lat->arc_dst[a] = extra;
    lat->arc_src.push_back(extra);
    lat->arc_dst.push_back(next);
    lat->arc_il.push_back(0);
    lat->arc_ol.push_back(label);
    lat->arc_g.push_back(0.0f);
    lat->arc_a.push_back(0.0f);
  }
  TopSortRaw(lat);
}

// Kaldi DeterminizeLatticeDeletePhones + ConvertLattice(CompactLattice -> Lattice): the phone
// labels (< 0) become epsilons and each compact arc becomes a chain of arcs with one transition-id
// each, its word and weight on the first; a final weight with a string or an acoustic part becomes
// a chain to a new final state.  States re-sorted topologically.
void CompactToRaw(const CompactOut &c, const StringRepo &repo, RawLattice *lat) {
  *lat = RawLattice();
  lat->num_states = c.num_states;
  lat->final_g.assign(c.num_states, kInf);
  auto add = [lat](int32_t s, int32_t d, int32_t il, int32_t ol, float g, float a) {
    lat->arc_src.push_back(s);
    lat->arc_dst.push_back(d);
    lat->arc_il.push_back(il);
    lat->arc_ol.push_back(ol);
    lat->arc_g.push_back(g);
    lat->arc_a.push_back(a);
  };
  auto new_state = [lat]() {
    lat->final_g.push_back(kInf);
    return lat->num_states++;
  };
  // a chain s -> ... -> d carrying `tids`, (word, g, a) on its first arc
  std::vector<int32_t> tids;
  auto chain = [&](int32_t s, int32_t d, int32_t word, float g, float a) {
    if (tids.empty()) {
      add(s, d, 0, word, g, a);
      return;
    }
    for (size_t i = 0; i < tids.size(); i++) {
      int32_t nd = i + 1 == tids.size() ? d : new_state();
      add(s, nd, tids[i], i == 0 ? word : 0, i == 0 ? g : 0.0f, i == 0 ? a : 0.0f);
      s = nd;
    }
  };
  for (const DetArc &x : c.arcs) {
    repo.ToVector(x.str, &tids);
    chain(x.src, x.dst, x.word > 0 ? x.word : 0, x.g, x.a);
  }
  for (size_t i = 0; i < c.final_state.size(); i++) {
    int32_t s = c.final_state[i];
    repo.ToVector(c.final_str[i], &tids);
    if (tids.empty() && c.final_av[i] == 0.0f) {
      lat->final_g[s] = c.final_gv[i];
      continue;
    }
    int32_t f = new_state();
    chain(s, f, 0, c.final_gv[i], c.final_av[i]);
    lat->final_g[f] = 0.0f;
  }
  TopSortRaw(lat);
}

// ---------------------------------------------------------------------------------- Python glue

PyObject *bytes_of(const void *data, size_t n) {
  return PyBytes_FromStringAndSize(static_cast<const char *>(data), static_cast<Py_ssize_t>(n));
}

template <class T>
PyObject *bytes_vec(const std::vector<T> &v) {
  return bytes_of(v.data(), v.size() * sizeof(T));
}

PyObject *decode(PyObject *, PyObject *args, PyObject *kwargs) {
  static const char *kwlist[] = {"graph", "loglikes", "tid2pdf", "acoustic_scale", "beam",
                                 "max_active", "min_active", "lattice_beam", "prune_interval",
                                 "beam_delta", "prune_scale", "determinize", "max_det_states",
                                 "phone_start", nullptr};
  PyObject *ograph, *oll, *omap, *ophones = Py_None;
  Config cfg;
  int determinize = 1;
  long max_det_states = 200000;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OO|ffiififfplO", const_cast<char **>(kwlist),
                                   &GraphType, &ograph, &oll, &omap, &cfg.acoustic_scale, &cfg.beam,
                                   &cfg.max_active, &cfg.min_active, &cfg.lattice_beam,
                                   &cfg.prune_interval, &cfg.beam_delta, &cfg.prune_scale,
                                   &determinize, &max_det_states, &ophones))
    return nullptr;
  if (cfg.prune_interval < 1 || cfg.max_active < 1 || cfg.min_active < 0) {
    PyErr_SetString(PyExc_ValueError, "bad decoder options (prune_interval, max_active, min_active)");
    return nullptr;
  }
  const GraphData &g = *reinterpret_cast<GraphObject *>(ograph)->g;
  Py_buffer bll, bmap;
  if (PyObject_GetBuffer(oll, &bll, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND) < 0) return nullptr;
  if (bll.ndim != 2 || bll.itemsize != 4) {
    PyBuffer_Release(&bll);
    PyErr_SetString(PyExc_TypeError, "loglikes: need a C-contiguous float32 matrix");
    return nullptr;
  }
  if (!get_buffer(omap, &bmap, "tid2pdf", 4)) {
    PyBuffer_Release(&bll);
    return nullptr;
  }
  Py_buffer bphones;
  const int32_t *phone_start = nullptr;
  Py_ssize_t n_phone_start = 0;
  if (ophones != Py_None) {
    if (!get_buffer(ophones, &bphones, "phone_start", 4)) {
      PyBuffer_Release(&bll);
      PyBuffer_Release(&bmap);
      return nullptr;
    }
    phone_start = static_cast<const int32_t *>(bphones.buf);
    n_phone_start = bphones.len / 4;
  }
  int32_t rows = static_cast<int32_t>(bll.shape[0]), cols = static_cast<int32_t>(bll.shape[1]);
  const int32_t *tid2pdf = static_cast<const int32_t *>(bmap.buf);
  Py_ssize_t ntid = bmap.len / 4;
  bool bad_map = g.max_ilabel >= ntid;
  for (Py_ssize_t t = 1; t < ntid && !bad_map; t++)
    if (tid2pdf[t] < 0 || tid2pdf[t] >= cols) bad_map = true;
  if (bad_map || g.num_states == 0) {
    PyBuffer_Release(&bll);
    PyBuffer_Release(&bmap);
    if (phone_start) PyBuffer_Release(&bphones);
    PyErr_SetString(PyExc_ValueError,
                    g.num_states == 0 ? "empty graph"
                                      : "graph transition-ids or their pdfs out of range of the score matrix");
    return nullptr;
  }
  bool ok = false, reached_final = false, have_best = false, det_ok = true;
  std::vector<int32_t> words, ali;
  float best_g = 0, best_a = 0;
  RawLattice raw;
  CompactOut clat;
  StringRepo repo;
  int64_t links = 0;
  int32_t raw_states = 0, first_phone_states = 0;
  size_t raw_arcs = 0;
  float det_beam = cfg.lattice_beam;
  Py_BEGIN_ALLOW_THREADS
  {
    Decoder dec(g, static_cast<const float *>(bll.buf), rows, cols, tid2pdf, cfg);
    ok = dec.Decode();
    if (ok) {
      reached_final = dec.ReachedFinal();
      dec.GetRawLattice(&raw);
      have_best = RawBestPath(raw, &words, &ali, &best_g, &best_a);
      raw_states = raw.num_states;
      raw_arcs = raw.arc_src.size();
    }
    links = dec.num_links_created();
  }
  if (ok && have_best && determinize) {
    // Determinize; if it blows up, prune harder and retry (as Kaldi's pruned determinization
    // does when it exceeds its memory limit).
    // With phone_start (Kaldi DeterminizeLatticePhonePrunedWrapper): the pruned raw lattice is
    // first determinized on words + phones, which keeps every word sequence's best path but merges
    // the state-level alternatives inside each phone early; the phones are then removed and the
    // (much smaller) result determinized on words.
    const int64_t budget = static_cast<int64_t>(max_det_states) * 125;
    for (int attempt = 0; attempt < 6; attempt++) {
      RawLattice pruned = raw;
      PruneRaw(&pruned, det_beam);
      bool first_ok = true;
      if (phone_start != nullptr) {
        InsertPhones(&pruned, phone_start, n_phone_start);
        CompactOut phone_lat;
        {
          Determinizer det1(pruned, &repo, static_cast<size_t>(max_det_states), budget);
          first_ok = det1.Run(&phone_lat, det_beam);
        }
        if (first_ok) {
          PruneAndSortCompact(&phone_lat, det_beam);
          CompactToRaw(phone_lat, repo, &pruned);
          first_phone_states = phone_lat.num_states;
        }
      }
      clat = CompactOut();
      if (first_ok) {
        Determinizer det(pruned, &repo, static_cast<size_t>(max_det_states), budget);
        if (det.Run(&clat, det_beam)) break;
      }
      det_ok = false;
      det_beam *= 0.5f;
      clat = CompactOut();
    }
    PruneAndSortCompact(&clat, det_beam);
  }
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&bll);
  PyBuffer_Release(&bmap);
  if (phone_start) PyBuffer_Release(&bphones);

  // Compact lattice as flat arrays: arcs (src, dst, word, g, a, string offsets) + tids.
  std::vector<int32_t> a_src, a_dst, a_word, a_tids, f_state, f_tids;
  std::vector<float> a_g, a_a, f_g, f_a;
  std::vector<int64_t> a_off{0}, f_off{0};
  const double inv_scale = 1.0 / static_cast<double>(cfg.acoustic_scale);
  std::vector<int32_t> tmp;
  for (const DetArc &a : clat.arcs) {
    a_src.push_back(a.src);
    a_dst.push_back(a.dst);
    a_word.push_back(a.word);
    a_g.push_back(a.g);
    a_a.push_back(static_cast<float>(inv_scale * static_cast<double>(a.a)));
    repo.ToVector(a.str, &tmp);
    a_tids.insert(a_tids.end(), tmp.begin(), tmp.end());
    a_off.push_back(static_cast<int64_t>(a_tids.size()));
  }
  for (size_t i = 0; i < clat.final_state.size(); i++) {
    f_state.push_back(clat.final_state[i]);
    f_g.push_back(clat.final_gv[i]);
    f_a.push_back(static_cast<float>(inv_scale * static_cast<double>(clat.final_av[i])));
    repo.ToVector(clat.final_str[i], &tmp);
    f_tids.insert(f_tids.end(), tmp.begin(), tmp.end());
    f_off.push_back(static_cast<int64_t>(f_tids.size()));
  }
  return Py_BuildValue(
      "{s:O,s:O,s:O,s:N,s:N,s:f,s:f,s:i,s:i,s:n,s:L,s:O,s:f,s:i,"
      "s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N}",
      "ok", ok ? Py_True : Py_False, "reached_final", reached_final ? Py_True : Py_False,
      "have_best", have_best ? Py_True : Py_False, "words", bytes_vec(words), "alignment",
      bytes_vec(ali), "graph_cost", best_g, "acoustic_cost", best_a, "num_frames", rows,
      "clat_states", clat.num_states, "raw_states", static_cast<Py_ssize_t>(raw_states), "links",
      static_cast<long long>(links), "det_complete", det_ok ? Py_True : Py_False, "det_beam",
      det_beam, "phone_lat_states", first_phone_states, "arc_src", bytes_vec(a_src), "arc_dst", bytes_vec(a_dst), "arc_word",
      bytes_vec(a_word), "arc_g", bytes_vec(a_g), "arc_a", bytes_vec(a_a), "arc_off",
      bytes_vec(a_off), "arc_tids", bytes_vec(a_tids), "final_state", bytes_vec(f_state),
      "final_g", bytes_vec(f_g), "final_a", bytes_vec(f_a), "final_off", bytes_vec(f_off),
      "final_tids", bytes_vec(f_tids));
  (void)raw_arcs;
}

PyMethodDef methods[] = {
    {"decode", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(decode)),
     METH_VARARGS | METH_KEYWORDS,
     "decode(graph, loglikes, tid2pdf, acoustic_scale, beam, max_active, min_active, lattice_beam, "
     "prune_interval, beam_delta, prune_scale, determinize, max_det_states, phone_start=None) -> dict"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_latgen",
                      "Lattice-generating beam search over HCLG graphs (Kaldi LatticeFasterDecoder "
                      "semantics) and word-level lattice determinization.",
                      -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit__latgen(void) {
  GraphType.tp_name = "bnn.decode._latgen.Graph";
  GraphType.tp_basicsize = sizeof(GraphObject);
  GraphType.tp_flags = Py_TPFLAGS_DEFAULT;
  GraphType.tp_new = Graph_new;
  GraphType.tp_dealloc = reinterpret_cast<destructor>(Graph_dealloc);
  GraphType.tp_doc = "Graph(start, finals, offsets, ilabel, olabel, weight, nextstate): an HCLG in CSR form";
  if (PyType_Ready(&GraphType) < 0) return nullptr;
  PyObject *m = PyModule_Create(&module);
  if (!m) return nullptr;
  Py_INCREF(&GraphType);
  if (PyModule_AddObject(m, "Graph", reinterpret_cast<PyObject *>(&GraphType)) < 0) {
    Py_DECREF(&GraphType);
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
