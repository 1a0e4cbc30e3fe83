"""Recurrent and embedding layers (issue 16): their output shapes, and the width check of their input."""

from __future__ import annotations

CHAINER = "import chainer\nimport chainer.functions as F\nimport chainer.links as L\nimport numpy as np\n"
TORCH = "import torch\nfrom torch import nn\n"


def values(finding) -> tuple:
    return finding.line, finding.expected["value"], finding.actual["value"]


def test_torch_rnn_output_shapes_follow_batch_first_bidirectional_layers_and_proj_size(check_source):
    # each print checks the width of what came out with a Linear built for it
    report = check_source(TORCH + "x = torch.zeros(5, 8, 16)\n"
                          "out, (h, c) = nn.LSTM(16, 12, num_layers=3, bidirectional=True)(x)\n"
                          "print(nn.Linear(24, 1)(out), nn.Linear(12, 1)(h), nn.Linear(12, 1)(c))\n"
                          "out, h = nn.GRU(16, 7, batch_first=True)(torch.zeros(8, 5, 16))\n"
                          "print(nn.Linear(7, 1)(out), nn.Linear(7, 1)(h))\n"
                          "out, (h, c) = nn.LSTM(16, 12, proj_size=4)(x)\n"
                          "print(nn.Linear(4, 1)(out), nn.Linear(4, 1)(h), nn.Linear(12, 1)(c))\n"
                          "out, h = nn.RNN(16, 6)(torch.zeros(5, 16))\n"
                          "print(nn.Linear(6, 1)(out), nn.Linear(6, 1)(h))\n"
                          "h, c = nn.LSTMCell(16, 9)(torch.zeros(8, 16))\n"
                          "print(nn.Linear(9, 1)(h), nn.Linear(9, 1)(nn.GRUCell(16, 9)(torch.zeros(16))))\n"
                          "e = nn.Embedding(100, 16)(torch.zeros(3, 4).long())\n"
                          "print(nn.Linear(16, 1)(e))\n")
    assert report.findings == [] and report.notes == []
    assert report.checked_calls == 19  # 13 Linears and 6 recurrent inputs (an embedding's ids are no width)


def test_torch_rnn_fed_the_wrong_width_or_rank(check_source):
    (finding,) = check_source(TORCH + "out, h = nn.GRU(64, 8)(torch.zeros(5, 8, 32))\n").findings
    assert values(finding) == (3, 64, 32)
    assert finding.framework_message == ("RuntimeError: input.size(-1) must be equal to input_size. Expected 64, "
                                         "got 32")
    (finding,) = check_source(TORCH + "out, h = nn.GRU(32, 8)(torch.zeros(2, 5, 8, 32))\n").findings
    assert finding.framework_message == "ValueError: GRU: Expected input to be 2D or 3D, got 4D instead"


def test_chainer_recurrent_links(check_source):
    report = check_source(CHAINER + "h = L.LSTM(None, 20)(np.zeros((4, 10), dtype=np.float32))\n"
                          "print(L.Linear(20, 1)(h))\n"
                          "c, h = L.StatelessLSTM(10, 20)(None, None, np.zeros((4, 10), dtype=np.float32))\n"
                          "print(L.Linear(20, 1)(c), L.Linear(20, 1)(h))\n"
                          "print(L.Linear(20, 1)(L.StatefulGRU(10, 20)(np.zeros((4, 10), dtype=np.float32))))\n"
                          "e = L.EmbedID(50, 10)(np.zeros((4, 3), dtype=np.int32))\n"
                          "print(L.Linear(30, 1)(e))\n")  # Chainer's Linear flattens (4, 3, 10)
    assert report.findings == [] and report.checked_calls == 8


def test_chainer_v1_gru_is_stateless_gru_n_units_n_inputs(check_source):
    # v1: GRU(n_units, n_inputs)(h, x); from v2 GRU(in_size, out_size)(x)
    report = check_source(CHAINER + "gru = L.GRU(20, 10)\n"
                          "h = gru(np.zeros((4, 20), dtype=np.float32), np.zeros((4, 10), dtype=np.float32))\n"
                          "print(L.Linear(20, 1)(h))\n"
                          "print(L.Linear(10, 1)(L.GRU(20, 10)(np.zeros((4, 20), dtype=np.float32))))\n")
    assert report.findings == [] and report.checked_calls == 5
    (finding,) = check_source(CHAINER + "gru = L.GRU(20, 10)\n"
                              "h = gru(np.zeros((4, 20), dtype=np.float32), np.zeros((4, 12), dtype=np.float32))\n",
                              chainer_version=(1, 24, 0)).findings
    assert values(finding) == (6, 10, 12) and finding.layer["name"] == "gru"


def test_a_stateless_lstm_given_a_hidden_state_of_another_width(check_source):
    (finding,) = check_source(CHAINER + "lstm = L.StatelessLSTM(10, 20)\n"
                              "c, h = lstm(None, np.zeros((4, 30), dtype=np.float32), "
                              "np.zeros((4, 10), dtype=np.float32))\n").findings
    assert values(finding) == (6, 20, 30)


def test_n_step_lstm_returns_states_and_sequences(check_source):
    report = check_source(CHAINER + "xs = [np.zeros((5, 8), dtype=np.float32), np.zeros((3, 8), dtype=np.float32)]\n"
                          "hy, cy, ys = L.NStepLSTM(2, 8, 6, 0.0)(None, None, xs)\n"
                          "print(L.Linear(6, 1)(hy[1]), L.Linear(6, 1)(ys[1]))\n"
                          "hy, ys = L.NStepBiGRU(1, 8, 6, 0.0)(None, xs)\n"
                          "print(L.Linear(6, 1)(hy[1]), L.Linear(12, 1)(ys[0]))\n")
    assert report.findings == []
    assert report.checked_calls == 8  # 4 sequences checked against in_size, 4 Linears
