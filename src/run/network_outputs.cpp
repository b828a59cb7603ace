#include "run/network_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/segmentation.hpp"

namespace hkam::run {

using namespace hkam::akorn;

namespace {

/// The features object discovery clusters (evaluate.features), columns col0 … col0 + cols.
template <class T>
Eigen::MatrixXd pick_features(const NetSpec& n, const NetworkOutput<T>& o, Index col0, Index cols) {
  const Mat<T>& src = n.cluster_on == "readout"    ? o.features
                      : n.cluster_on == "stimulus" ? o.stimulus
                                                   : o.x;
  return Eigen::MatrixXd(src.middleCols(col0, cols).template cast<double>());
}

// Up-tiling (the reference's saccade_r = r): each image is resized bicubically to
// S + ps − ps/r, its r² crops shifted by multiples of ps/r are run, and their maps interleaved
// into an r× denser grid: crop (hi, wi) at (i, j) → cell (i·r + hi, j·r + wi). Returns the
// features per image on that (grid.height·r) × (grid.width·r) grid.
template <class T>
std::vector<Eigen::MatrixXd> uptiled_features(const ObjectNet<T>& net, const NetRun<T>& run,
                                              hid_t og, Results& results) {
  const NetSpec& n = run.spec;
  const NetInputs& in = run.in;
  const ObjectNetConfig& oc = *n.objects_config();
  const Index S = oc.input_side(), ps = oc.psize, r = n.uptile, step = ps / r;
  const Index gh = run.grid.height * r, gw = run.grid.width * r, P = run.grid.positions();
  const Index big = S + ps - step, crops = r * r;
  Mat<T> tiles(3, in.batch * crops * S * S);
  Eigen::MatrixXd resized_all(3, in.batch * big * big);
  for (Index b = 0; b < in.batch; ++b) {
    const Eigen::MatrixXd resized =
        analysis::resize_bicubic(in.images.middleCols(b * S * S, S * S), S, S, big, big);
    resized_all.middleCols(b * big * big, big * big) = resized;
    for (Index hi = 0; hi < r; ++hi)
      for (Index wi = 0; wi < r; ++wi) {
        const Index t = (b * r + hi) * r + wi;
        for (Index y = 0; y < S; ++y)
          for (Index x = 0; x < S; ++x)
            tiles.col(t * S * S + y * S + x) =
                resized.col((y + hi * step) * big + x + wi * step).template cast<T>();
      }
  }
  put<double>(
      og, "uptiled_images", channels_first<double>(resized_all, in.batch),
      {static_cast<hsize_t>(in.batch), 3, static_cast<hsize_t>(big), static_cast<hsize_t>(big)});
  const Mat<T>& tnoise = run.uptile_noise;  // read before the run
  const NetworkOutput<T> to = net.forward(tiles, tnoise, in.batch * crops);
  if (n.store_states)
    put<T>(og, "uptile_noise", channels_first<T>(tnoise, in.batch * crops),
           {static_cast<hsize_t>(in.batch * crops), static_cast<hsize_t>(n.channels()),
            static_cast<hsize_t>(run.grid.height), static_cast<hsize_t>(run.grid.width)});
  std::vector<Eigen::MatrixXd> feats(static_cast<std::size_t>(in.batch));
  for (Index b = 0; b < in.batch; ++b) {
    Eigen::MatrixXd dense(to.features.rows(), gh * gw);
    for (Index hi = 0; hi < r; ++hi)
      for (Index wi = 0; wi < r; ++wi) {
        const Eigen::MatrixXd f = pick_features(n, to, ((b * r + hi) * r + wi) * P, P);
        for (Index i = 0; i < run.grid.height; ++i)
          for (Index j = 0; j < run.grid.width; ++j)
            dense.col((i * r + hi) * gw + j * r + wi) = f.col(i * run.grid.width + j);
      }
    feats[static_cast<std::size_t>(b)] = dense;
  }
  if (n.store_states) {
    Eigen::MatrixXd all(feats[0].rows(), in.batch * gh * gw);
    for (Index b = 0; b < in.batch; ++b)
      all.middleCols(b * gh * gw, gh * gw) = feats[static_cast<std::size_t>(b)];
    put<double>(og, "uptiled_features", channels_first<double>(all, in.batch),
                {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(all.rows()),
                 static_cast<hsize_t>(gh), static_cast<hsize_t>(gw)});
  }
  results.emplace_back("uptile", static_cast<double>(r));
  return feats;
}

double nanmean(const Eigen::VectorXd& v) {
  double s = 0;
  int k = 0;
  for (Index i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i])) s += v[i], ++k;
  return k ? s / k : std::numeric_limits<double>::quiet_NaN();
}

// Clusters each image's features (PCA, average linkage, evaluate.clusters groups) on a gw × gw
// grid, upsamples the labels to the image as the reference (nn.Upsample, nearest), writes them
// and, with masks, FG-ARI and mBO.
void cluster_objects(const NetSpec& n, const NetInputs& in, std::vector<Eigen::MatrixXd>& feats,
                     Index gw, hid_t og, Results& results) {
  const Index S = n.objects_config()->input_side();
  const std::vector<Index> src = analysis::nearest_upsample_index(gw, S);  // checked non-empty
  std::vector<long long> all_labels;
  Eigen::VectorXd ari(in.batch), mbo(in.batch);
  for (Index b = 0; b < in.batch; ++b) {
    Eigen::MatrixXd& feat = feats[static_cast<std::size_t>(b)];
    if (n.cluster_on == "readout")  // the reference L2-normalises c over channels
      for (Index p = 0; p < feat.cols(); ++p) feat.col(p) /= std::max(feat.col(p).norm(), 1e-12);
    const auto patch = analysis::average_linkage(analysis::pca_reduce(feat, 128), n.clusters);
    std::vector<int> pix(static_cast<std::size_t>(S * S));
    for (Index y = 0; y < S; ++y)
      for (Index x = 0; x < S; ++x)
        pix[static_cast<std::size_t>(y * S + x)] = patch[static_cast<std::size_t>(
            src[static_cast<std::size_t>(y)] * gw + src[static_cast<std::size_t>(x)])];
    all_labels.insert(all_labels.end(), pix.begin(), pix.end());
    if (!in.masks.empty()) {
      const auto& mk = in.masks[static_cast<std::size_t>(b)];
      const bool any_fg = std::any_of(mk.begin(), mk.end(), [](int v) { return v > 0; });
      // No foreground: sklearn's ARI of two empty labellings is 1, and the reference's
      // evaluation averages that in; "skip" writes NaN and leaves the image out of the mean.
      ari[b] = any_fg           ? analysis::adjusted_rand_index(mk, pix, true)
               : n.empty_fg_one ? 1.0
                                : std::numeric_limits<double>::quiet_NaN();
      mbo[b] = analysis::mean_best_overlap(mk, pix);
    }
  }
  io::write_int_array(
      og, "labels", all_labels,
      {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(S), static_cast<hsize_t>(S)});
  if (!in.masks.empty()) {
    io::write_array(og, "fg_ari", ari.data(), {static_cast<hsize_t>(in.batch)});
    io::write_array(og, "mbo", mbo.data(), {static_cast<hsize_t>(in.batch)});
    results.emplace_back("fg_ari", nanmean(ari));
    results.emplace_back("mbo", nanmean(mbo));
  }
}

}  // namespace

template <class T>
void write_outputs(const ObjectNet<T>& net, const NetRun<T>& run, const NetworkOutput<T>& out,
                   bool finite, hid_t og, Results& results) {
  const NetSpec& n = run.spec;
  const auto chains = static_cast<hsize_t>(run.chains);
  put<T>(og, "features", channels_first<T>(out.features, run.chains),
         {chains, static_cast<hsize_t>(out.features.rows()), static_cast<hsize_t>(out.grid.height),
          static_cast<hsize_t>(out.grid.width)});
  put<T>(og, "head", out.head, {chains, static_cast<hsize_t>(n.channels())});
  if (n.clusters <= 0 || !finite) return;
  const Index r = n.uptile, P = run.grid.positions();
  std::vector<Eigen::MatrixXd> feats;
  if (r == 1)
    for (Index b = 0; b < run.in.batch; ++b) feats.push_back(pick_features(n, out, b * P, P));
  else
    feats = uptiled_features(net, run, og, results);
  cluster_objects(n, run.in, feats, run.grid.width * r, og, results);
}

template <class T>
void write_outputs(const CifarNet<T>&, const NetRun<T>& run, const NetworkOutput<T>& out, bool,
                   hid_t og, Results& results) {
  // logits averaged over the noise draws of each image (the reference's ensemble)
  const NetInputs& in = run.in;
  const Index K = std::get<CifarNetConfig>(run.spec.net).classes;
  put<T>(og, "chain_logits", out.features,
         {static_cast<hsize_t>(run.chains), static_cast<hsize_t>(K)});
  put<T>(og, "pooled", out.head,
         {static_cast<hsize_t>(run.chains), static_cast<hsize_t>(out.head.rows())});
  Mat<T> mean(K, in.batch);
  std::vector<long long> pred;
  for (Index b = 0; b < in.batch; ++b) {
    mean.col(b) = out.features.middleCols(b * run.votes, run.votes).rowwise().mean();
    Index best = 0;
    mean.col(b).maxCoeff(&best);
    pred.push_back(best);
  }
  put<T>(og, "logits", mean, {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(K)});
  io::write_int_array(og, "prediction", pred, {pred.size()});
  if (!in.labels.empty()) {
    long right = 0;
    for (Index b = 0; b < in.batch; ++b)
      right += pred[static_cast<std::size_t>(b)] == in.labels[static_cast<std::size_t>(b)];
    results.emplace_back("accuracy", static_cast<double>(right) / in.batch);
  }
}

template <class T>
void write_outputs(const SudokuNet<T>&, const NetRun<T>& run, const NetworkOutput<T>& out, bool,
                   hid_t og, Results& results) {
  const NetSpec& n = run.spec;
  const NetInputs& in = run.in;
  const Index chains = run.chains;
  const int votes = run.votes;
  put<T>(og, "logits", out.features,
         {static_cast<hsize_t>(chains), 9, 9, 9});  // [chain][row][col][digit]
  const Eigen::MatrixXi pred = sudoku_predictions<T>(out.features, chains);
  // E-vote: per board the chain with the lowest score of the last block's logged energies
  const Eigen::MatrixXd& last = out.energies.back().proxy;  // (T + 1) × chains
  Eigen::MatrixXd scores(in.batch, votes);
  Eigen::MatrixXi chosen(in.batch, 81);
  std::vector<long long> choice;
  for (Index b = 0; b < in.batch; ++b) {
    Index best = 0;
    for (int k = 0; k < votes; ++k) {
      const Index ch = b * votes + k;
      scores(b, k) = n.vote_score == "last" ? last(last.rows() - 1, ch) : last.col(ch).sum();
      if (scores(b, k) < scores(b, best)) best = k;
    }
    choice.push_back(best);
    chosen.row(b) = pred.row(b * votes + best);
  }
  io::write_int_array(og, "chain_prediction", flat(pred), {static_cast<hsize_t>(chains), 9, 9});
  io::write_int_array(og, "prediction", flat(chosen), {static_cast<hsize_t>(in.batch), 9, 9});
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> sr = scores;
  io::write_array(og, "vote_scores", sr.data(),
                  {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(votes)});
  io::write_int_array(og, "vote_choice", choice, {choice.size()});
  if (in.solutions.size()) {
    long solved = 0, blanks = 0, right = 0;
    for (Index b = 0; b < in.batch; ++b) {
      bool all = true;
      for (Index p = 0; p < 81; ++p)
        if (in.boards(b, p) == 0) {
          ++blanks;
          const bool ok = chosen(b, p) == in.solutions(b, p);
          right += ok;
          all = all && ok;
        }
      solved += all;
    }
    results.emplace_back("board_accuracy", static_cast<double>(solved) / in.batch);
    results.emplace_back("cell_accuracy", blanks ? static_cast<double>(right) / blanks : 1.0);
  }
}

#define HKAM_INSTANTIATE(T, Net)                                                                 \
  template void write_outputs<T>(const Net<T>&, const NetRun<T>&, const NetworkOutput<T>&, bool, \
                                 hid_t, Results&);
HKAM_INSTANTIATE(float, ObjectNet)
HKAM_INSTANTIATE(double, ObjectNet)
HKAM_INSTANTIATE(float, CifarNet)
HKAM_INSTANTIATE(double, CifarNet)
HKAM_INSTANTIATE(float, SudokuNet)
HKAM_INSTANTIATE(double, SudokuNet)
#undef HKAM_INSTANTIATE

}  // namespace hkam::run
