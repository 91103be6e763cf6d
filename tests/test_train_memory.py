"""Peak RSS of bnn-train does not grow with the corpus (streaming, bounded shuffle buffer)."""
from bnn.bench.train_memory import measure

from test_train_forward import NUM_PDFS, make_corpus


def test_peak_memory_of_4x_corpus_within_1_2x(tmp_path):
    # 1x: 600 utterances x ~60 frames x 40 dims; spliced +-5 that is ~70 MB if held in RAM,
    # so a trainer that loads the corpus would grow by ~200 MB on the 4x copy.
    data = make_corpus(str(tmp_path / "data"), n_utts=600, dim=40)
    cfg = tmp_path / "dnn.yaml"
    cfg.write_text("model: {type: dnn, hidden_dim: 32, num_hidden: 1, activation: sigmoid}\n"
                   "train: {lr: 0.01, batch_size: 512, buffer_frames: 10000}\n")
    r = measure(data, f"{data}/tgt.scp", NUM_PDFS, str(cfg), str(tmp_path / "work"), times=4,
                extra=["--splice", "5", "--cv-percent", "5"])
    assert r["4x"]["utterances"] == 4 * r["1x"]["utterances"] == 2400
    assert r["ratio"] <= 1.2, r
