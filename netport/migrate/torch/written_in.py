"""Definitions the torch rules write into a converted file (the text of each class or function), for the links and
functions of Chainer that torch has no counterpart of: InceptionBN (PT115), NegativeSampling and negative_sampling
(PT116), BinaryHierarchicalSoftmax (PT119). Each follows Chainer 1.24's source, cited above it; its attribute names
are Chainer's link names, so that ``netport convert-weights`` maps a Chainer snapshot onto it (W -> weight,
gamma/beta/avg_mean/avg_var -> weight/bias/running_mean/running_var)."""

# Chainer 1.24's L.InceptionBN (links/connection/inceptionbn.py): Convolution2D links without bias, each followed by a
# BatchNormalization(size, dtype=dtype) (decay 0.9, eps 2e-5: torch momentum 1 - 0.9 = 0.1; avg_var
# starting at 0) and ReLU: proj3 (1x1) ->
# conv3 (3x3, pad 1, stride), proj33 (1x1) -> conv33a (3x3, pad 1) -> conv33b (3x3, pad 1, stride); conv1 (1x1,
# stride) when out1 > 0 (asserting stride == 1 and a proj_pool); a 3x3 pooling, pad 1, stride: max with
# cover_all=False (torch's floor mode) or average (im2col with zero padding: the padding counts, as torch's
# count_include_pad=True), then poolp (1x1) when proj_pool is not None; the paths concatenated along the channels
# in the order conv1, conv3, conv33, pool. conv_init None is Chainer's default initializer, HeNormal(1 / sqrt(2)):
# LeCun normal. The convolutions' W take conv_init's dtype, the batch normalizations dtype.
INCEPTION_BN = '''class InceptionBN(nn.Module):
    """Chainer's L.InceptionBN (GoogLeNet's block with batch normalization): 1x1, 1x1-3x3 and 1x1-3x3-3x3
    convolution paths and a max or average pooling path (with a 1x1 convolution if proj_pool), each convolution
    followed by v1's batch normalization and ReLU, joined along the channels. `init` fills a convolution's
    weight as conv_init did (None: LeCun normal, Chainer's default); a convolution of the input is a LazyConv2d
    when in_channels is None (sized at the first input). Train/eval mode is the module's (Chainer's `train`)."""

    def __init__(self, in_channels, out1, proj3, out3, proj33, out33, pooltype, proj_pool=None, stride=1,
                 init=None, dtype=None):
        super().__init__()
        if pooltype not in ("max", "avg"):
            raise NotImplementedError()

        def conv(n_in, n_out, ksize, stride=1, pad=0):
            if n_in is None:
                return LazyConv2d(n_out, ksize, stride=stride, padding=pad, bias=False, init=init, dtype=dtype)
            module = nn.Conv2d(n_in, n_out, ksize, stride=stride, padding=pad, bias=False, dtype=dtype)
            with torch.no_grad():
                if init is None:
                    nn.init.normal_(module.weight, std=1 / math.sqrt(module.weight[0].numel()))
                else:
                    init(module.weight)
            return module

        def norm(size):  # v1's avg_var starts at 0 (numpy.zeros), torch's running_var at 1
            module = ChainerBatchNorm2d(size, eps=2e-05, momentum=0.1, dtype=dtype)
            nn.init.zeros_(module.running_var)
            return module

        self.proj3, self.proj3n = conv(in_channels, proj3, 1), norm(proj3)
        self.conv3, self.conv3n = conv(proj3, out3, 3, stride=stride, pad=1), norm(out3)
        self.proj33, self.proj33n = conv(in_channels, proj33, 1), norm(proj33)
        self.conv33a, self.conv33an = conv(proj33, out33, 3, pad=1), norm(out33)
        self.conv33b, self.conv33bn = conv(out33, out33, 3, stride=stride, pad=1), norm(out33)
        if out1 > 0:
            assert stride == 1
            assert proj_pool is not None
            self.conv1, self.conv1n = conv(in_channels, out1, 1, stride=stride), norm(out1)
        if proj_pool is not None:
            self.poolp, self.poolpn = conv(in_channels, proj_pool, 1), norm(proj_pool)
        self.out1, self.proj_pool, self.stride, self.pooltype = out1, proj_pool, stride, pooltype

    def forward(self, x):
        outs = []
        if self.out1 > 0:
            outs.append(torch.relu(self.conv1n(self.conv1(x))))
        h3 = torch.relu(self.proj3n(self.proj3(x)))
        outs.append(torch.relu(self.conv3n(self.conv3(h3))))
        h33 = torch.relu(self.proj33n(self.proj33(x)))
        h33 = torch.relu(self.conv33an(self.conv33a(h33)))
        outs.append(torch.relu(self.conv33bn(self.conv33b(h33))))
        if self.pooltype == "max":
            p = nn.functional.max_pool2d(x, 3, stride=self.stride, padding=1)
        else:
            p = nn.functional.avg_pool2d(x, 3, stride=self.stride, padding=1)
        if self.proj_pool is not None:
            p = torch.relu(self.poolpn(self.poolp(p)))
        outs.append(p)
        return torch.cat(outs, dim=1)
'''

# Chainer 1.24's F.negative_sampling (functions/loss/negative_sampling.py): samples = sampler((batch, sample_size + 1))
# with column 0 replaced by t; per row i, loss_i = sum_k logaddexp(f_k, 0) where f = W[samples[i]] . x[i] and f_0
# negated (the positive sample): -log sigmoid(w_t . x) - sum over the negatives of log sigmoid(-w_s . x); 0 for
# t == -1 (ignore_label); reduce='sum' (the default) sums the rows, 'no' keeps them, anything else is ValueError.
NEGATIVE_SAMPLING_FUNCTION = '''def chainer_negative_sampling(x, t, W, sampler, sample_size, reduce="sum", samples=None):
    """Chainer's F.negative_sampling: the negative-sampling loss of x (batch, in_size) for the labels t
    against the rows of W, with sample_size negatives per row drawn by sampler(shape) (or the given
    samples, (batch, sample_size + 1), whose column 0 is replaced by t); rows with t == -1 count 0."""
    if reduce not in ("sum", "no"):
        raise ValueError("only 'sum' and 'no' are valid for 'reduce', but '%s' is given" % reduce)
    if samples is None:
        samples = sampler((t.shape[0], sample_size + 1))
    samples = torch.as_tensor(samples, device=W.device).long().clone()
    samples[:, 0] = t
    f = (W[samples] @ x[:, :, None])[:, :, 0]
    f = torch.cat((-f[:, :1], f[:, 1:]), dim=1)  # the positive sample's sign
    loss = torch.logaddexp(f, torch.zeros_like(f)).sum(dim=1)
    loss = torch.where(t == -1, torch.zeros_like(loss), loss)
    return loss.sum() if reduce == "sum" else loss
'''

# Chainer 1.24's L.NegativeSampling (links/loss/negative_sampling.py): W (len(counts), in_size), filled with 0; the
# sampler is a WalkerAlias over counts ** power (in float32); __call__(x, t, reduce='sum') is negative_sampling with
# W, the sampler and sample_size. torch.multinomial with replacement draws from the same distribution (Walker's
# alias method is exact); the random stream is torch's. W is `weight` here (convert-weights' name for a W).
NEGATIVE_SAMPLING = '''class NegativeSampling(nn.Module):
    """Chainer's L.NegativeSampling: the negative-sampling loss with its own output embedding `weight`
    (Chainer's W, len(counts) x in_size, zero at the start) and sample_size negatives per row drawn from
    counts ** power (torch.multinomial with replacement: the distribution of Chainer's WalkerAlias)."""

    def __init__(self, in_size, counts, sample_size, power=0.75):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(len(counts), in_size))
        self.sample_size = sample_size
        p = torch.tensor(counts, dtype=torch.float32) ** torch.tensor(power, dtype=torch.float32)
        self.register_buffer("p", p, persistent=False)

    @property
    def W(self):
        """Chainer's name of `weight` (the same parameter), for code that reads it so."""
        return self.weight

    def sampler(self, shape):
        """Chainer's sampler.sample(shape): word ids drawn with probability p / p.sum()."""
        return torch.multinomial(self.p, torch.Size(shape).numel(), replacement=True).reshape(shape)

    def forward(self, x, t, reduce="sum", samples=None):
        return chainer_negative_sampling(x, t, self.weight, self.sampler, self.sample_size, reduce=reduce, samples=samples)
'''

# Chainer 1.24's L.BinaryHierarchicalSoftmax (links/loss/hierarchical_softmax.py): TreeParser numbers the internal
# nodes of the tuple tree in preorder (left subtree first) and gives each leaf (an int word id) the path of node ids
# from the root and the codes +1 (left) / -1 (right); W (number of internal nodes, in_size) is drawn from
# uniform(-1, 1); the loss of (x, t) sums over the batch and over t's path logaddexp(0, -code * (W[node] . x)).
# Its CPU lookup begins[t]..begins[t + 1] over n_vocab + 1 offsets (numpy's indexing) gives t == -1 an empty path
# and t == -k the path of word n_vocab + 1 - k: the tables here have the same n_vocab + 1 rows, the last one empty.
# create_huffman_tree is Chainer's: a priority queue of (count, uid, word), uid the position in word_counts'
# iteration order, the merged pair taking the smaller uid (keys unique, so heapq pops in PriorityQueue's order).
BINARY_HIERARCHICAL_SOFTMAX = '''class BinaryHierarchicalSoftmax(nn.Module):
    """Chainer's L.BinaryHierarchicalSoftmax: the loss -log P(t | x) summed over the batch, P the product of
    sigmoid(code * (x . weight[node])) along t's path in the binary tree (tuples like ((1, 2), 3), leaves the
    word ids; code +1 to the left child, -1 to the right). `weight` is Chainer's W (internal nodes x in_size,
    uniform(-1, 1) at the start)."""

    def __init__(self, in_size, tree):
        super().__init__()
        paths, codes, n_nodes = {}, {}, 0
        stack = [(tree, [], [])]  # Chainer's TreeParser, without its recursion: preorder, left subtree first
        while stack:
            node, path, code = stack.pop()
            if isinstance(node, tuple):
                if len(node) != 2:
                    raise ValueError("All internal nodes must have two child nodes")
                left, right = node
                stack.append((right, path + [n_nodes], code + [-1.0]))
                stack.append((left, path + [n_nodes], code + [1.0]))
                n_nodes += 1
            else:
                paths[node], codes[node] = path, code
        n_vocab = max(paths) + 1
        depth = max(len(path) for path in paths.values())
        # one row a word and an empty last one (t == -1); codes 0 mark the padding
        node_table = torch.zeros(n_vocab + 1, depth, dtype=torch.long)
        code_table = torch.zeros(n_vocab + 1, depth)
        for word, path in paths.items():
            node_table[word, :len(path)] = torch.tensor(path, dtype=torch.long)
            code_table[word, :len(path)] = torch.tensor(codes[word])
        self.register_buffer("paths", node_table, persistent=False)
        self.register_buffer("codes", code_table, persistent=False)
        self.weight = nn.Parameter(torch.empty(n_nodes, in_size).uniform_(-1, 1))

    @property
    def W(self):
        """Chainer's name of `weight` (the same parameter), for code that reads it so."""
        return self.weight

    @staticmethod
    def create_huffman_tree(word_counts):
        """Chainer's Huffman tree of a dict of word counts: ((3, 1), (2, 0)) for {0: 8, 1: 5, 2: 6, 3: 4}."""
        if len(word_counts) == 0:
            raise ValueError("Empty vocabulary")
        queue = [(count, uid, word) for uid, (word, count) in enumerate(word_counts.items())]
        heapq.heapify(queue)
        while len(queue) >= 2:
            count1, id1, word1 = heapq.heappop(queue)
            count2, id2, word2 = heapq.heappop(queue)
            heapq.heappush(queue, (count1 + count2, min(id1, id2), (word1, word2)))
        return queue[0][2]

    def forward(self, x, t):
        t = torch.as_tensor(t, device=self.paths.device).long()
        nodes, codes = self.paths[t], self.codes[t]  # (batch, depth)
        wxy = (self.weight[nodes] @ x[:, :, None])[:, :, 0] * codes
        loss = torch.logaddexp(torch.zeros_like(wxy), -wxy)  # log(1 + exp(-wxy)), as Chainer's
        return torch.where(codes != 0, loss, torch.zeros_like(loss)).sum()
'''

# Chainer 1.24's L.Parameter (links/connection/parameter.py): a link holding one parameter W, add_param(W, array.shape,
# dtype=array.dtype) whose data is then the array itself (not a copy: writing into the array writes W; its dtype, an
# integer one too); __call__(volatile='off') returns W through two identity functions (the same array, gradients
# flowing into W), without graph for volatile 'on' (or True). W is `weight` here (convert-weights' name for a W),
# a `W` property reading it; torch.as_tensor keeps the memory of a NumPy array on the CPU and its dtype (a tensor
# that is not floating point cannot require a gradient in torch: it is a parameter without one).
PARAMETER_LINK = '''class ParameterLink(nn.Module):
    """Chainer's L.Parameter: a module holding one parameter `weight` (Chainer's W), the array it was given
    (its dtype; the same memory for a NumPy array on the CPU); calling it returns the parameter (volatile='on'
    or True, v1's flag: the parameter without graph)."""

    def __init__(self, array):
        super().__init__()
        tensor = torch.as_tensor(array)
        self.weight = nn.Parameter(tensor, requires_grad=tensor.is_floating_point())

    @property
    def W(self):
        """Chainer's name of `weight` (the same parameter), for code that reads it so."""
        return self.weight

    def forward(self, volatile="off"):
        return self.weight.detach() if volatile in ("on", True) else self.weight
'''
