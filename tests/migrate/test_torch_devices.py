"""PT060-PT064 and PT025: Chainer's CUDA module and CuPy on the torch target. What netport converts runs on a
CPU-only torch as the Chainer 1.24 program ran without a GPU; what it cannot convert is marked at the line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netport.migrate import Severity, migrate_source
from tests.conftest import run_python
from tests.migrate.test_torch_target import assert_same_numbers, run_on_chainer_and_torch

PROGRAM = '''import argparse
import os
import numpy as np
import chainer
import chainer.functions as F
import chainer.links as L
from chainer import cuda, optimizers, serializers

parser = argparse.ArgumentParser()
parser.add_argument('--gpu', '-g', default=-1, type=int)
args = parser.parse_args()
if args.gpu >= 0:
    cuda.check_cuda_available()  # as the Chainer examples did
xp = cuda.cupy if args.gpu >= 0 else np

model = L.Linear(3, 2)
if not os.path.exists('init.npz'):
    serializers.save_npz('init.npz', model)
serializers.load_npz('init.npz', model)
if args.gpu >= 0:
    cuda.get_device(args.gpu).use()
    model.to_gpu()
optimizer = optimizers.SGD(lr=0.1)
optimizer.setup(model)


def forward(x_data, t_data):
    x, t = chainer.Variable(x_data), chainer.Variable(t_data)
    return F.mean_squared_error(model(x), t)


rng = np.random.RandomState(0)
data = rng.uniform(-1, 1, (8, 3)).astype(np.float32)
target = rng.uniform(-1, 1, (8, 2)).astype(np.float32)
for epoch in range(3):
    model.cleargrads()
    loss = forward(xp.asarray(data), xp.asarray(target))
    loss.backward()
    optimizer.update()
    print('loss %.6f' % float(cuda.to_cpu(loss.data)))
y = model(chainer.Variable(xp.asarray(data)))
out = cuda.to_cpu(y.data)
print(' '.join('%.6f' % v for v in out.ravel()))
batch = cuda.to_gpu(data) if args.gpu >= 0 else data
host = cuda.to_cpu(batch)
print('same %d' % (host is data), 'gpu %d' % isinstance(batch, cuda.ndarray))
print('on %d' % (cuda.available and args.gpu >= 0))
print('sum %.6f' % host.sum())
'''


def torch_migration(source: str, **options):
    result = migrate_source(source, "prog.py", target="torch", **options)
    assert result.error is None, result.error
    return result


def errors(result):
    return [f for f in result.findings if f.severity is Severity.ERROR]


def test_a_gpu_ready_program_runs_on_cpu_torch_as_on_chainer_1_24(tmp_path, legacy_python):
    result, chainer_numbers, torch_numbers = run_on_chainer_and_torch(tmp_path, legacy_python, PROGRAM)
    assert errors(result) == []
    assert "chainer" not in result.migrated.replace("Chainer", "")
    assert "def to_numpy(x):" in result.migrated
    assert "xp = np\ndevice = torch.device('cuda') if args.gpu >= 0 else torch.device('cpu')\n" in result.migrated
    # every Variable of the program goes to `device` (where its CuPy array was on a GPU)
    assert "x, t = torch.as_tensor(x_data, device=device), torch.as_tensor(t_data, device=device)" in result.migrated
    assert "    model.cuda()\n" in result.migrated  # a module moves in place
    assert_same_numbers(torch_numbers, chainer_numbers)
    assert migrate_source(result.migrated, "prog.py", target="torch").migrated == result.migrated


def test_check_cuda_available_raises_chainers_error_where_torch_has_no_gpu(tmp_path, legacy_python):
    program = "from chainer import cuda\ngpu = 0\nif gpu >= 0:\n    cuda.check_cuda_available()\n"
    (tmp_path / "prog.py").write_text(program)
    ran = run_python(legacy_python, ["-W", "ignore", "prog.py"], cwd=tmp_path)
    assert "RuntimeError: CUDA environment is not correctly set up" in ran.stderr
    migrated = torch_migration(program).migrated
    assert migrated == ("import torch\n\ngpu = 0\nif gpu >= 0:\n    if not torch.cuda.is_available():\n"
                        "        raise RuntimeError('CUDA environment is not correctly set up')\n")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA environment is not correctly set up"):
            exec(compile(migrated, "prog.py", "exec"), {})


def test_check_cuda_available_keeps_the_lines_comment_and_is_marked_where_no_statement_can_replace_it():
    result = torch_migration("from chainer import cuda\n# need a GPU\ncuda.check_cuda_available()  # sure\n")
    assert result.migrated == ("import torch\n\n# need a GPU\nif not torch.cuda.is_available():  # sure\n"
                               "    raise RuntimeError('CUDA environment is not correctly set up')\n")
    result = torch_migration("from chainer import cuda\nif gpu >= 0: cuda.check_cuda_available()\n")
    assert [f.rule for f in errors(result)] == ["PT060"]
    assert "# netport: TODO(PT060): cuda.check_cuda_available() not on a line of its own" in result.migrated


@pytest.mark.parametrize("call, expected", [
    ("cuda.to_gpu(x)", "torch.as_tensor(x, device='cuda')"),
    ("cuda.to_gpu(x, None)", "torch.as_tensor(x, device='cuda')"),
    ("cuda.to_gpu(x, 1)", "torch.as_tensor(x, device='cuda:1')"),
    ("cuda.to_gpu(x, device=args.gpu)", "torch.as_tensor(x, device=torch.device('cuda', args.gpu))"),
    ("cuda.to_cpu(x)", "to_numpy(x)"),
    ("cuda.to_cpu(y.data.argmax(1))", "to_numpy(y.data.argmax(1))"),
    ("cuda.cupy.asnumpy(x)", "to_numpy(x)"),
    ("cuda.to_cpu(v.data)", "v.detach().cpu().numpy()"),  # PT022
])
def test_transfers_between_host_and_gpu(call, expected):
    result = torch_migration(f"import numpy as np\nfrom chainer import cuda\ny = {call}\n")
    assert errors(result) == []
    assert result.migrated.endswith(f"\ny = {expected}\n")
    assert ("def to_numpy(x):" in result.migrated) == expected.startswith("to_numpy")


@pytest.mark.parametrize("call", ["cuda.to_gpu(x, 0, stream)", "cuda.to_cpu(x, stream=s)", "cuda.to_gpu(*xs)"])
def test_transfers_on_a_stream_or_with_unknown_arguments_are_marked(call):
    result = torch_migration(f"from chainer import cuda\ny = {call}\n")
    assert [f.rule for f in errors(result)] == ["PT061"]
    assert "def to_numpy" not in result.migrated


def test_to_numpy_gives_what_chainers_to_cpu_gave():
    result = torch_migration("import numpy as np\nfrom chainer import cuda\n\n\ndef host(x):\n"
                             "    return cuda.to_cpu(x)\n")
    namespace = {}
    exec(compile(result.migrated, "prog.py", "exec"), namespace)
    array = np.arange(3, dtype=np.float32)
    assert namespace["host"](array) is array  # Chainer returned a NumPy array itself, uncopied
    tensor = torch.ones(2, requires_grad=True) * 2
    host = namespace["host"](tensor)
    assert isinstance(host, np.ndarray) and host.tolist() == [2.0, 2.0]


def test_a_file_that_has_its_own_to_numpy_gets_a_marker_instead():
    result = torch_migration("from chainer import cuda\n\n\ndef to_numpy(a):\n    return a\n\n\ny = cuda.to_cpu(x)\n")
    assert [f.rule for f in errors(result)] == ["PT061"]
    assert result.migrated.count("def to_numpy") == 1


def test_isinstance_of_a_cupy_array_asks_for_a_cuda_tensor():
    result = torch_migration("from chainer import cuda\nok = 'gpu %d' % isinstance(a.b, cuda.ndarray)\n"
                             "if isinstance(f(a), cuda.ndarray):\n    pass\n")
    assert "ok = 'gpu %d' % (isinstance(a.b, torch.Tensor) and a.b.is_cuda)\n" in result.migrated
    assert [f.rule for f in errors(result)] == ["PT062"]  # f(a) would be called twice


def test_a_variables_to_gpu_is_assigned_back_where_the_name_is_the_functions_own():
    source = ("import chainer\nfrom chainer import Variable\nmodel.to_gpu()\n\n\ndef f(x):\n    v = Variable(x)\n"
              "    v.to_gpu()\n    model.to_gpu()\n    self.l1.to_cpu()\n    return v\n")
    migrated = torch_migration(source).migrated
    assert "\nmodel = model.cuda()\n" in migrated
    assert "    v = v.cuda()\n    model.cuda()\n    self.l1 = self.l1.cpu()\n" in migrated  # model: a global there


def test_module_level_choice_puts_every_variable_of_the_file_on_device():
    source = ("import numpy as np\nimport chainer\nfrom chainer import cuda\nxp = cuda.cupy if gpu >= 0 else np\n\n\n"
              "def f(a):\n    return chainer.Variable(a)\n")
    migrated = torch_migration(source).migrated
    assert "xp = np\ndevice = torch.device('cuda') if gpu >= 0 else torch.device('cpu')\n" in migrated
    assert "def f(a):\n    return torch.as_tensor(a, device=device)\n" in migrated


@pytest.mark.parametrize("source, rule, words", [
    ("def f(x):\n    xp = cuda.get_array_module(x)\n    return xp.zeros(3)\n", "PT063", "device=x.device"),
    ("def f(x):\n    xp = cuda.cupy if gpu else np\n    a = np.ones(3)\n    return xp.sqrt(a)\n", "PT110",
     "`a` is a NumPy array on the CPU"),
    ("y = cuda.cupy.dot(a, b)\n", "PT063", "`cuda.cupy.dot` is CuPy"),
    ("import cupy\ny = cupy.cumsum(a)\n", "PT063", "`cupy.cumsum` is CuPy"),
    ("from cupy.cuda.cublas import sgemm\nsgemm(h, a, b)\n", "PT063", "`sgemm` is CuPy"),
    ("def f(x):\n    xp = cuda.get_array_module(x)\n    e = xp.cuda.Event()\n", "PT063", "`xp.cuda.Event`"),
    ("y = cuda.cupy.arange(3).get()\n", "PT063", "its get() copies it to the host"),
    ("k = cuda.reduce('T x', 'T y', 'x', 'a + b', 'y = a', '0', 'total')\n", "PT064", "kernel 'total'"),
    ("k = cupy.ElementwiseKernel('T x', 'T y', 'y = x', 'copy')\n", "PT064", "kernel 'copy'"),
    ("with cuda.get_device(p):\n    pass\n", "PT062", "torch.cuda.device_of(t)"),
    ("h = cuda.Device().cublas_handle\n", "PT062", "torch.matmul"),
    ("with cuda.get_device_from_id(0):\n    pass\n", "PT062", "torch.cuda.device(g)"),
    ("ok = isinstance(x, (np.ndarray, cuda.ndarray))\n", "PT062", "is_cuda"),
])
def test_what_cannot_be_converted_is_marked_with_what_replaces_it(source, rule, words):
    header = "import numpy as np\nimport cupy\nfrom chainer import cuda\n"
    result = torch_migration(header + source)
    found = errors(result)
    assert {f.rule for f in found} == {rule}, found
    assert any(words in f.message for f in found), found
    assert f"# netport: TODO({rule})" in result.migrated


def test_a_queues_get_is_not_cupys():
    source = "import queue\nfrom chainer import cuda\nq = queue.Queue()\nitem = q.get()\nz = cuda.to_gpu(item)\n"
    result = torch_migration(source)
    assert errors(result) == []
    assert "item = q.get()\n" in result.migrated


def test_a_program_with_its_own_device_keeps_it_and_its_choice_is_marked():
    source = ("import numpy as np\nimport chainer\nfrom chainer import cuda\ndevice = 3\n"
              "xp = np if gpu < 0 else cuda.cupy\nv = chainer.Variable(xp.asarray(a))\n")
    result = torch_migration(source)
    assert "device = 3\nxp = np if gpu < 0 else cuda.cupy  # netport: TODO(PT063)" in result.migrated
    assert [f.rule for f in errors(result)] == ["PT063"]


def test_an_array_module_chosen_by_statements_is_a_device_chosen_the_same_way():
    """`xp = np` then `if gpu >= 0: ...; xp = cuda.cupy` (the founding SAE program's form), or an if/else of
    the two, is the same choice as `xp = cuda.cupy if gpu >= 0 else np`: each branch sets `device`."""
    source = ("import numpy as np\nimport chainer\nfrom chainer import cuda\ngpu = -1\nxp = np\nif gpu >= 0:\n"
              "    cuda.get_device(gpu).use()\n    xp = cuda.cupy\nx = chainer.Variable(xp.asarray(np.ones(3, "
              "np.float32)))\nprint(float(x.data.sum()))\n")
    result = torch_migration(source)
    assert errors(result) == []
    assert "xp = np\ndevice = torch.device('cpu')\nif gpu >= 0:\n    torch.cuda.set_device(gpu)\n    xp = np\n" \
           "    device = torch.device('cuda')\n" in result.migrated
    assert "x = torch.as_tensor(np.ones(3, np.float32), device=device)" in result.migrated
    namespace: dict = {}
    exec(compile(result.migrated, "prog.py", "exec"), namespace)
    assert namespace["x"].device.type == "cpu"
    either = torch_migration(source.replace("xp = np\nif gpu >= 0:\n    cuda.get_device(gpu).use()\n"
                                            "    xp = cuda.cupy\n", "if gpu >= 0:\n    xp = cuda.cupy\nelse:\n"
                                            "    xp = np\n"))
    assert errors(either) == []
    assert "if gpu >= 0:\n    xp = np\n    device = torch.device('cuda')\nelse:\n    xp = np\n" \
           "    device = torch.device('cpu')\n" in either.migrated
    # assigned something else too: not a choice netport can follow, so marked as before
    other = torch_migration(source + "xp = other_module\n")
    assert [f.rule for f in errors(other)] == ["PT063"]
    assert migrate_source(result.migrated, "prog.py", target="torch").migrated == result.migrated
